/* The XML that S3 speaks: writing response bodies into an evbuffer, and a
 * small parser for the request bodies S3 clients send
 * (CompleteMultipartUpload, Delete, CreateBucketConfiguration).
 *
 * The parser takes elements, attributes (skipped), text, CDATA, comments,
 * processing instructions (<?xml ...?>) and the five predefined entities
 * plus numeric character references; it refuses DOCTYPE (no entity
 * expansion, no external entities), unbalanced tags and anything deeper than
 * XML_MAX_DEPTH or with more than XML_MAX_NODES elements.  Namespaces are not
 * interpreted: an element's name is its local name (the part after any
 * "prefix:"). */
#ifndef RCFS_S3_XML_H
#define RCFS_S3_XML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct evbuffer;

#define XML_MAX_DEPTH   32
#define XML_MAX_NODES   20000   /* DeleteObjects takes 1,000 keys of a few elements each */

/* ---- writing ---- */

/* Append s[0..len-1] with & < > " ' escaped; bytes below 0x20 other than
 * tab, CR and LF are written as numeric references (&#x1;) so that any key
 * survives the trip. */
void xml_escape(struct evbuffer *out, const char *s, size_t len);
/* Append "<tag>" escaped(text) "</tag>". */
void xml_elem(struct evbuffer *out, const char *tag, const char *text);
/* Append "<tag>" value "</tag>" for an unsigned number. */
void xml_elem_u64(struct evbuffer *out, const char *tag, uint64_t value);
/* Append the XML declaration and "<tag xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">". */
void xml_open_doc(struct evbuffer *out, const char *tag);
/* An S3 error document: <Error><Code>..</Code><Message>..</Message>
 * <Resource>..</Resource><RequestId>..</RequestId></Error> (resource and
 * request_id may be NULL: the element is left out). */
void xml_error(struct evbuffer *out, const char *code, const char *message, const char *resource,
    const char *request_id);

/* ---- parsing ---- */

/* One element.  Children in document order; text is the concatenation of
 * its character data (entities decoded, NUL-terminated; "" if none). */
struct xml_node {
	const char *name;               /* local name */
	char *text;
	size_t text_len;
	struct xml_node *parent;
	struct xml_node *child;         /* first child */
	struct xml_node *next;          /* next sibling */
};

/* Parse buf[0..len-1] (need not be NUL-terminated).  Returns the root
 * element (free with xml_free), or NULL with one line in why[whylen]. */
struct xml_node *xml_parse(const char *buf, size_t len, char *why, size_t whylen);
void xml_free(struct xml_node *root);
/* The first child of n named name (after `after`, if not NULL), or NULL. */
struct xml_node *xml_child(const struct xml_node *n, const char *name, const struct xml_node *after);
/* The text of n's first child named name, or NULL if there is none. */
const char *xml_child_text(const struct xml_node *n, const char *name);

#endif
