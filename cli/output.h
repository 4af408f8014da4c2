/* output.h - how the CLI shows things: aligned tables, key: value blocks,
 * JSON, and error lines.
 *
 * Text from the server (names, labels, messages) is printed with control
 * characters replaced by '?': a node label must not be able to move the
 * operator's cursor or retitle their terminal.  JSON output needs no such
 * care, json-c escapes control characters.
 */
#ifndef UL_CLI_OUTPUT_H
#define UL_CLI_OUTPUT_H

#include <json-c/json.h>
#include <stddef.h>
#include <stdio.h>

enum out_format { OUT_TABLE = 0, OUT_JSON };

/* Parse "table" or "json"; -1 when unknown. */
int out_parse_format(const char *s, enum out_format *f);

/* Print obj to stdout as indented JSON and a newline. */
void out_json(json_object *obj);

/* "underlay: " + the formatted message (sanitised) + newline, on stderr. */
void out_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

struct out_table;

/* A table with ncols columns named by headers (borrowed, must outlive t). */
struct out_table *out_table_new(size_t ncols, const char *const *headers);
/* Append a row of ncols cells; each is copied; NULL or "" shows as "-". */
void out_table_add(struct out_table *t, const char *const *cells);
/* Print header and rows to f with columns aligned; the last column is not
 * padded, so lines carry no trailing blanks. */
void out_table_print(const struct out_table *t, FILE *f);
void out_table_free(struct out_table *t);
/* The (sanitised) text of row r, column col; borrowed from t. */
const char *out_table_cell(const struct out_table *t, size_t r, size_t col);

/* Print n "key: value" lines to stdout with the values aligned (an empty
 * value shows as "-"). */
void out_kv(const char *const *keys, const char *const *values, size_t n);

/* The display text of a JSON value, newly allocated: strings as they are,
 * null or absent as "-", anything else as compact JSON. */
char *out_text(json_object *v);

/* out_text() of obj's field key. */
char *out_field(json_object *obj, const char *key);

/* A number as an operator reads it: at most two decimals, trailing zeros
 * dropped ("12.06", "3.3", "8400"), as ipmi-sensors rounds; newly
 * allocated.  BMC readings converted through the SDR's linear formula carry
 * binary noise (3.3000000000000003) that no sensor resolves. */
char *out_number(double v);

/* s made safe for a terminal as table cells are (control characters as
 * '?', NULL or "" as "-"); newly allocated. */
char *out_clean(const char *s);

/* An object shown as "k=v,k2=v2" (values through out_text), "-" when empty
 * or not an object; newly allocated. */
char *out_pairs(json_object *obj);

#endif
