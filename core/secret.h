/* secret.h - BMC credential encryption and API token hashing (libsodium).
 *
 * The data key lives in a 0600 file created on first start; passwords are
 * sealed with XSalsa20-Poly1305 (crypto_secretbox) under a fresh random nonce
 * each, so equal passwords never produce equal ciphertexts.  API tokens are
 * stored only as BLAKE2b hashes.
 */
#ifndef UL_SECRET_H
#define UL_SECRET_H

#include <stddef.h>
#include <stdint.h>

#include "ul_error.h"

#define SECRET_KEY_LEN 32
#define SECRET_HASH_LEN 32

/* Initialise libsodium; call once at start-up. */
ul_err secret_init(ul_errmsg *em);

/* Load the key from path, creating it (mode 0600, O_EXCL) when absent.  A key
 * file readable by group or others, or of the wrong size, is refused. */
ul_err secret_key_load_or_create(const char *path, unsigned char key[SECRET_KEY_LEN],
                                 ul_errmsg *em);

/* Seal plaintext; *out (allocated, caller frees) holds nonce || ciphertext. */
ul_err secret_seal(const unsigned char key[SECRET_KEY_LEN], const char *plaintext,
                   unsigned char **out, size_t *outlen, ul_errmsg *em);

/* Open a sealed blob into a new NUL-terminated string (caller frees after
 * wiping).  Fails on tampering or a wrong key. */
ul_err secret_open(const unsigned char key[SECRET_KEY_LEN], const unsigned char *in, size_t inlen,
                   char **plaintext, ul_errmsg *em);

/* Hash an API token for storage and lookup. */
void secret_token_hash(const char *token, unsigned char out[SECRET_HASH_LEN]);

/* Make a new random API token "ul_" + 43 URL-safe base64 characters. */
char *secret_token_new(void);

/* Write a secret to a new file with mode 0600 (temp file, fsync, rename). */
ul_err secret_write_file(const char *path, const char *content, ul_errmsg *em);

#endif
