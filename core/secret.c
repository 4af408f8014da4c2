#include "config.h"

#include "secret.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "xalloc.h"

ul_err secret_init(ul_errmsg *em)
{
    if (sodium_init() < 0)
        return ul_errmsg_set(em, UL_ERR_INTERNAL, "libsodium failed to initialise");
    return UL_OK;
}

static ul_err read_key(int fd, const char *path, unsigned char key[SECRET_KEY_LEN], ul_errmsg *em)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return ul_errmsg_set(em, UL_ERR_IO, "key file '%s': %s", path, strerror(errno));
    if (st.st_mode & 077)
        return ul_errmsg_set(em, UL_ERR_IO,
                             "key file '%s' is readable by group or others (mode %03o); "
                             "chmod 600 it",
                             path, (unsigned)(st.st_mode & 0777));
    if (st.st_size != SECRET_KEY_LEN)
        return ul_errmsg_set(em, UL_ERR_IO, "key file '%s' must hold exactly %d bytes", path,
                             SECRET_KEY_LEN);
    ssize_t n = read(fd, key, SECRET_KEY_LEN);
    if (n != SECRET_KEY_LEN)
        return ul_errmsg_set(em, UL_ERR_IO, "key file '%s': short read", path);
    return UL_OK;
}

ul_err secret_key_load_or_create(const char *path, unsigned char key[SECRET_KEY_LEN],
                                 ul_errmsg *em)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ul_err rc = read_key(fd, path, key, em);
        close(fd);
        return rc;
    }
    if (errno != ENOENT)
        return ul_errmsg_set(em, UL_ERR_IO, "key file '%s': %s", path, strerror(errno));
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return ul_errmsg_set(em, UL_ERR_IO, "cannot create key file '%s': %s", path,
                             strerror(errno));
    randombytes_buf(key, SECRET_KEY_LEN);
    ssize_t n = write(fd, key, SECRET_KEY_LEN);
    int sync_rc = fsync(fd);
    close(fd);
    if (n != SECRET_KEY_LEN || sync_rc != 0) {
        unlink(path);
        return ul_errmsg_set(em, UL_ERR_IO, "cannot write key file '%s'", path);
    }
    return UL_OK;
}

ul_err secret_seal(const unsigned char key[SECRET_KEY_LEN], const char *plaintext,
                   unsigned char **out, size_t *outlen, ul_errmsg *em)
{
    size_t mlen = strlen(plaintext);
    size_t len = crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + mlen;
    unsigned char *buf = xmalloc(len);
    randombytes_buf(buf, crypto_secretbox_NONCEBYTES);
    if (crypto_secretbox_easy(buf + crypto_secretbox_NONCEBYTES, (const unsigned char *)plaintext,
                              mlen, buf, key) != 0) {
        free(buf);
        return ul_errmsg_set(em, UL_ERR_INTERNAL, "cannot encrypt credential");
    }
    *out = buf;
    *outlen = len;
    return UL_OK;
}

ul_err secret_open(const unsigned char key[SECRET_KEY_LEN], const unsigned char *in, size_t inlen,
                   char **plaintext, ul_errmsg *em)
{
    if (inlen < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES)
        return ul_errmsg_set(em, UL_ERR_STORE, "stored credential is truncated");
    size_t mlen = inlen - crypto_secretbox_NONCEBYTES - crypto_secretbox_MACBYTES;
    char *m = xmalloc(mlen + 1);
    if (crypto_secretbox_open_easy((unsigned char *)m, in + crypto_secretbox_NONCEBYTES,
                                   inlen - crypto_secretbox_NONCEBYTES, in, key) != 0) {
        free(m);
        return ul_errmsg_set(em, UL_ERR_STORE,
                             "stored credential cannot be decrypted (wrong key file?)");
    }
    m[mlen] = '\0';
    *plaintext = m;
    return UL_OK;
}

void secret_token_hash(const char *token, unsigned char out[SECRET_HASH_LEN])
{
    crypto_generichash(out, SECRET_HASH_LEN, (const unsigned char *)token, strlen(token), NULL, 0);
}

char *secret_token_new(void)
{
    unsigned char raw[32];
    randombytes_buf(raw, sizeof(raw));
    size_t b64len = sodium_base64_ENCODED_LEN(sizeof(raw), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    char *tok = xmalloc(3 + b64len);
    memcpy(tok, "ul_", 3);
    sodium_bin2base64(tok + 3, b64len, raw, sizeof(raw), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof(raw));
    return tok;
}

ul_err secret_write_file(const char *path, const char *content, ul_errmsg *em)
{
    char *tmp = xasprintf("%s.tmp", path);
    ul_err rc = UL_OK;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        rc = ul_errmsg_set(em, UL_ERR_IO, "cannot create '%s': %s", tmp, strerror(errno));
        goto out;
    }
    size_t len = strlen(content);
    ssize_t n = write(fd, content, len);
    if (n != (ssize_t)len || fsync(fd) != 0) {
        rc = ul_errmsg_set(em, UL_ERR_IO, "cannot write '%s': %s", tmp, strerror(errno));
        close(fd);
        unlink(tmp);
        goto out;
    }
    close(fd);
    if (rename(tmp, path) != 0) {
        rc = ul_errmsg_set(em, UL_ERR_IO, "cannot rename '%s' to '%s': %s", tmp, path,
                           strerror(errno));
        unlink(tmp);
    }
out:
    free(tmp);
    return rc;
}
