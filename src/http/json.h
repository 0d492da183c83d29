/* A tiny streaming JSON writer into an evbuffer, for the /status hook.
 * It inserts the commas; the caller keeps begin/end balanced:
 *
 *     struct json_writer w;
 *     json_init(&w, out);
 *     json_object_begin(&w);
 *     json_kv_uint(&w, "term", 7);
 *     json_key(&w, "nodes"); json_array_begin(&w);
 *       json_object_begin(&w); json_kv_string(&w, "role", "leader"); json_object_end(&w);
 *     json_array_end(&w);
 *     json_object_end(&w);
 *
 * Strings are escaped per RFC 8259 (quote, backslash, control characters as
 * \uXXXX); bytes >= 0x80 pass through, so give it UTF-8.  Non-finite doubles
 * are written as null.  Nesting deeper than JSON_MAX_DEPTH is a bug: further
 * levels are still written but commas may be wrong. */
#ifndef RCFS_HTTP_JSON_H
#define RCFS_HTTP_JSON_H

#include <stdbool.h>
#include <stdint.h>

struct evbuffer;

#define JSON_MAX_DEPTH 32

struct json_writer {
	struct evbuffer *out;
	unsigned depth;
	uint32_t has_items;     /* bit d: level d already holds an item */
	bool after_key;         /* a key was written; the value needs no comma */
};

void json_init(struct json_writer *w, struct evbuffer *out);
void json_object_begin(struct json_writer *w);
void json_object_end(struct json_writer *w);
void json_array_begin(struct json_writer *w);
void json_array_end(struct json_writer *w);
void json_key(struct json_writer *w, const char *key);

void json_string(struct json_writer *w, const char *s);   /* NULL: null */
void json_uint(struct json_writer *w, uint64_t v);
void json_int(struct json_writer *w, int64_t v);
void json_double(struct json_writer *w, double v);
void json_bool(struct json_writer *w, bool v);
void json_null(struct json_writer *w);

/* key + value in one call */
void json_kv_string(struct json_writer *w, const char *key, const char *s);
void json_kv_uint(struct json_writer *w, const char *key, uint64_t v);
void json_kv_int(struct json_writer *w, const char *key, int64_t v);
void json_kv_double(struct json_writer *w, const char *key, double v);
void json_kv_bool(struct json_writer *w, const char *key, bool v);
void json_kv_null(struct json_writer *w, const char *key);

/* Append s as a quoted, escaped JSON string (no comma handling). */
void json_escape(struct evbuffer *out, const char *s);

#endif
