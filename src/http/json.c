/* Streaming JSON writer (json.h). */
#include "http/json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

void
json_init(struct json_writer *w, struct evbuffer *out)
{
	memset(w, 0, sizeof *w);
	w->out = out;
}

/* Before any value or key: a comma if this level already holds an item. */
static void
item(struct json_writer *w)
{
	uint32_t bit = w->depth < JSON_MAX_DEPTH ? 1u << w->depth : 0;

	if (w->after_key) {
		w->after_key = false;
		return;
	}
	if (w->has_items & bit)
		evbuffer_add(w->out, ",", 1);
	w->has_items |= bit;
}

static void
open_level(struct json_writer *w, char ch)
{
	item(w);
	evbuffer_add(w->out, &ch, 1);
	w->depth++;
	if (w->depth < JSON_MAX_DEPTH)
		w->has_items &= ~(1u << w->depth);
}

static void
close_level(struct json_writer *w, char ch)
{
	if (w->depth > 0)
		w->depth--;
	w->after_key = false;
	evbuffer_add(w->out, &ch, 1);
}

void json_object_begin(struct json_writer *w) { open_level(w, '{'); }
void json_object_end(struct json_writer *w) { close_level(w, '}'); }
void json_array_begin(struct json_writer *w) { open_level(w, '['); }
void json_array_end(struct json_writer *w) { close_level(w, ']'); }

void
json_escape(struct evbuffer *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)s, *run = p;

	evbuffer_add(out, "\"", 1);
	for (; *p != '\0'; p++) {
		char esc[8];
		size_t n = 2;

		switch (*p) {
		case '"': memcpy(esc, "\\\"", 2); break;
		case '\\': memcpy(esc, "\\\\", 2); break;
		case '\n': memcpy(esc, "\\n", 2); break;
		case '\r': memcpy(esc, "\\r", 2); break;
		case '\t': memcpy(esc, "\\t", 2); break;
		default:
			if (*p >= 0x20 && *p != 0x7f)
				continue;
			snprintf(esc, sizeof esc, "\\u%04x", *p);
			n = 6;
		}
		evbuffer_add(out, run, (size_t)(p - run));
		evbuffer_add(out, esc, n);
		run = p + 1;
	}
	evbuffer_add(out, run, (size_t)(p - run));
	evbuffer_add(out, "\"", 1);
}

void
json_key(struct json_writer *w, const char *key)
{
	item(w);
	json_escape(w->out, key);
	evbuffer_add(w->out, ":", 1);
	w->after_key = true;
}

void
json_string(struct json_writer *w, const char *s)
{
	if (s == NULL) {
		json_null(w);
		return;
	}
	item(w);
	json_escape(w->out, s);
}

void
json_uint(struct json_writer *w, uint64_t v)
{
	item(w);
	evbuffer_add_printf(w->out, "%llu", (unsigned long long)v);
}

void
json_int(struct json_writer *w, int64_t v)
{
	item(w);
	evbuffer_add_printf(w->out, "%lld", (long long)v);
}

void
json_double(struct json_writer *w, double v)
{
	char buf[32];
	int prec;

	if (!isfinite(v)) {
		json_null(w);
		return;
	}
	item(w);
	for (prec = 15; prec <= 17; prec++) {
		snprintf(buf, sizeof buf, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	evbuffer_add(w->out, buf, strlen(buf));
}

void
json_bool(struct json_writer *w, bool v)
{
	item(w);
	evbuffer_add_printf(w->out, "%s", v ? "true" : "false");
}

void
json_null(struct json_writer *w)
{
	item(w);
	evbuffer_add(w->out, "null", 4);
}

void json_kv_string(struct json_writer *w, const char *k, const char *s) { json_key(w, k); json_string(w, s); }
void json_kv_uint(struct json_writer *w, const char *k, uint64_t v) { json_key(w, k); json_uint(w, v); }
void json_kv_int(struct json_writer *w, const char *k, int64_t v) { json_key(w, k); json_int(w, v); }
void json_kv_double(struct json_writer *w, const char *k, double v) { json_key(w, k); json_double(w, v); }
void json_kv_bool(struct json_writer *w, const char *k, bool v) { json_key(w, k); json_bool(w, v); }
void json_kv_null(struct json_writer *w, const char *k) { json_key(w, k); json_null(w); }
