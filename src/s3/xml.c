/* The XML that S3 speaks (xml.h): escaping writers into an evbuffer and a
 * small strict parser for request bodies.  The parser never reads past len,
 * expands no entities beyond the five predefined ones and numeric
 * references, and bounds depth and element count. */
#include "s3/xml.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>

#include "util/xmalloc.h"

#define XML_DECL "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
#define XML_NS "http://s3.amazonaws.com/doc/2006-03-01/"

/* An element whose end tag has not been seen yet. */
struct xml_open {
	struct xml_node *node;
	struct xml_node *last;          /* last child so far, for appending */
	size_t qname, qlen;             /* qualified name's place in buf */
	size_t cap;                     /* bytes allocated for node->text */
};

struct xml_parser {
	const unsigned char *buf;
	size_t len, pos;
	size_t start;                   /* after any BOM */
	char *why;
	size_t whylen;
	bool failed;
	bool seen_root;
	struct xml_node *root;
	unsigned depth;                 /* open elements */
	unsigned nodes;
	struct xml_open open[XML_MAX_DEPTH];
};

static void xml_fail(struct xml_parser *p, size_t at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static bool xml_has(const struct xml_parser *p, size_t at, const char *s);
static size_t xml_find(const struct xml_parser *p, size_t from, const char *s);
static bool xml_is_space(unsigned char c);
static bool xml_is_ctl(unsigned char c);
static bool xml_name_start(unsigned char c);
static bool xml_name_char(unsigned char c);
static void xml_skip_space(struct xml_parser *p);
static size_t xml_name(struct xml_parser *p);
static void xml_utf8(uint32_t cp, unsigned char out[4], size_t *n);
static bool xml_ref(struct xml_parser *p, unsigned char out[4], size_t *n);
static void xml_append(struct xml_parser *p, const unsigned char *s, size_t n);
static int xml_markup(struct xml_parser *p);
static bool xml_attr_value(struct xml_parser *p);
static void xml_start_tag(struct xml_parser *p);
static void xml_end_tag(struct xml_parser *p);
static void xml_content(struct xml_parser *p);
static void xml_free_tree(struct xml_node *n);

/* ---- writing ---- */

void
xml_escape(struct evbuffer *out, const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t run = 0, i;
	const char *rep;

	for (i = 0; i < len; i++) {
		switch (u[i]) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		case '\'': rep = "&apos;"; break;
		default: rep = NULL; break;
		}
		if (rep == NULL && !xml_is_ctl(u[i]))
			continue;
		if (i > run)
			evbuffer_add(out, s + run, i - run);
		if (rep != NULL)
			evbuffer_add(out, rep, strlen(rep));
		else
			evbuffer_add_printf(out, "&#x%X;", (unsigned)u[i]);
		run = i + 1;
	}
	if (len > run)
		evbuffer_add(out, s + run, len - run);
}

void
xml_elem(struct evbuffer *out, const char *tag, const char *text)
{
	evbuffer_add_printf(out, "<%s>", tag);
	if (text != NULL)
		xml_escape(out, text, strlen(text));
	evbuffer_add_printf(out, "</%s>", tag);
}

void
xml_elem_u64(struct evbuffer *out, const char *tag, uint64_t value)
{
	evbuffer_add_printf(out, "<%s>%" PRIu64 "</%s>", tag, value, tag);
}

void
xml_open_doc(struct evbuffer *out, const char *tag)
{
	evbuffer_add_printf(out, XML_DECL "<%s xmlns=\"" XML_NS "\">", tag);
}

void
xml_error(struct evbuffer *out, const char *code, const char *message, const char *resource,
    const char *request_id)
{
	evbuffer_add(out, XML_DECL "<Error>", strlen(XML_DECL "<Error>"));
	xml_elem(out, "Code", code);
	xml_elem(out, "Message", message);
	if (resource != NULL)
		xml_elem(out, "Resource", resource);
	if (request_id != NULL)
		xml_elem(out, "RequestId", request_id);
	evbuffer_add(out, "</Error>", 8);
}

/* ---- parsing: small helpers ---- */

/* Record the first error only: "XML: <what> at byte N". */
static void
xml_fail(struct xml_parser *p, size_t at, const char *fmt, ...)
{
	char msg[160];
	va_list ap;

	if (p->failed)
		return;
	p->failed = true;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (p->why != NULL && p->whylen > 0)
		snprintf(p->why, p->whylen, "XML: %s at byte %zu", msg, at);
}

/* Whether buf[at..] starts with s (within len). */
static bool
xml_has(const struct xml_parser *p, size_t at, const char *s)
{
	size_t n = strlen(s);

	return at <= p->len && p->len - at >= n && memcmp(p->buf + at, s, n) == 0;
}

/* Offset of the first s at or after from, or SIZE_MAX. */
static size_t
xml_find(const struct xml_parser *p, size_t from, const char *s)
{
	size_t n = strlen(s), i;

	if (from > p->len || p->len - from < n)
		return SIZE_MAX;
	for (i = from; i <= p->len - n; i++)
		if (p->buf[i] == (unsigned char)s[0] && memcmp(p->buf + i, s, n) == 0)
			return i;
	return SIZE_MAX;
}

static bool
xml_is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Control bytes that XML text may not hold raw. */
static bool
xml_is_ctl(unsigned char c)
{
	return c < 0x20 && c != '\t' && c != '\r' && c != '\n';
}

static bool
xml_name_start(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' || c == ':' || c >= 0x80;
}

static bool
xml_name_char(unsigned char c)
{
	return xml_name_start(c) || (c >= '0' && c <= '9') || c == '-' || c == '.';
}

static void
xml_skip_space(struct xml_parser *p)
{
	while (p->pos < p->len && xml_is_space(p->buf[p->pos]))
		p->pos++;
}

/* Consume a name at pos; its length, 0 if there is none. */
static size_t
xml_name(struct xml_parser *p)
{
	size_t at = p->pos;

	if (p->pos >= p->len || !xml_name_start(p->buf[p->pos]))
		return 0;
	while (p->pos < p->len && xml_name_char(p->buf[p->pos]))
		p->pos++;
	return p->pos - at;
}

static void
xml_utf8(uint32_t cp, unsigned char out[4], size_t *n)
{
	if (cp < 0x80) {
		out[0] = (unsigned char)cp;
		*n = 1;
	} else if (cp < 0x800) {
		out[0] = (unsigned char)(0xC0 | (cp >> 6));
		out[1] = (unsigned char)(0x80 | (cp & 0x3F));
		*n = 2;
	} else if (cp < 0x10000) {
		out[0] = (unsigned char)(0xE0 | (cp >> 12));
		out[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
		out[2] = (unsigned char)(0x80 | (cp & 0x3F));
		*n = 3;
	} else {
		out[0] = (unsigned char)(0xF0 | (cp >> 18));
		out[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
		out[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
		out[3] = (unsigned char)(0x80 | (cp & 0x3F));
		*n = 4;
	}
}

/* Decode the reference at pos ('&') into out[*n]; advance past ';'. */
static bool
xml_ref(struct xml_parser *p, unsigned char out[4], size_t *n)
{
	static const struct {
		const char *name;
		char ch;
	} ents[] = { { "amp", '&' }, { "lt", '<' }, { "gt", '>' }, { "quot", '"' },
		{ "apos", '\'' } };
	size_t at = p->pos, i = at + 1, from;
	uint32_t cp = 0;
	bool hex = false;
	unsigned d, k;

	if (i < p->len && p->buf[i] == '#') {
		i++;
		if (i < p->len && p->buf[i] == 'x') {
			hex = true;
			i++;
		}
		for (from = i; i < p->len; i++) {
			unsigned char c = p->buf[i];
			if (c >= '0' && c <= '9')
				d = (unsigned)(c - '0');
			else if (hex && c >= 'a' && c <= 'f')
				d = (unsigned)(c - 'a' + 10);
			else if (hex && c >= 'A' && c <= 'F')
				d = (unsigned)(c - 'A' + 10);
			else
				break;
			cp = cp * (hex ? 16 : 10) + d;
			if (cp > 0x10FFFF)
				cp = 0x110000;  /* saturate: stays out of range */
		}
		if (i == from || i >= p->len || p->buf[i] != ';') {
			xml_fail(p, at, "bad character reference");
			return false;
		}
		if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
			xml_fail(p, at, "character reference out of range");
			return false;
		}
		xml_utf8(cp, out, n);
		p->pos = i + 1;
		return true;
	}
	for (from = i; i < p->len && i - from < 8 && xml_name_char(p->buf[i]); i++)
		;
	if (i >= p->len || p->buf[i] != ';' || i == from) {
		xml_fail(p, at, "bad entity reference");
		return false;
	}
	for (k = 0; k < sizeof ents / sizeof ents[0]; k++) {
		if (strlen(ents[k].name) == i - from && memcmp(p->buf + from, ents[k].name, i - from) == 0) {
			out[0] = (unsigned char)ents[k].ch;
			*n = 1;
			p->pos = i + 1;
			return true;
		}
	}
	xml_fail(p, at, "unknown entity &%.*s;", (int)(i - from), (const char *)p->buf + from);
	return false;
}

/* Append character data to the innermost open element. */
static void
xml_append(struct xml_parser *p, const unsigned char *s, size_t n)
{
	struct xml_open *o = &p->open[p->depth - 1];
	struct xml_node *nd = o->node;
	size_t need = nd->text_len + n + 1, cap;

	if (n == 0)
		return;
	if (need > o->cap) {
		for (cap = o->cap ? o->cap : 32; cap < need; cap *= 2)
			;
		nd->text = xrealloc(nd->text, cap);
		o->cap = cap;
	}
	memcpy(nd->text + nd->text_len, s, n);
	nd->text_len += n;
	nd->text[nd->text_len] = '\0';
}

/* At '<': consume a comment, PI or (inside an element) CDATA section and
 * return 1; return 0 for a start or end tag; -1 on error. */
static int
xml_markup(struct xml_parser *p)
{
	size_t at = p->pos, end, i, n;

	if (xml_has(p, at, "<!--")) {
		end = xml_find(p, at + 4, "--");
		if (end == SIZE_MAX) {
			xml_fail(p, at, "unterminated comment");
			return -1;
		}
		if (!xml_has(p, end, "-->")) {
			xml_fail(p, end, "'--' inside a comment");
			return -1;
		}
		p->pos = end + 3;
		return 1;
	}
	if (xml_has(p, at, "<![CDATA[")) {
		if (p->depth == 0) {
			xml_fail(p, at, "CDATA outside the root element");
			return -1;
		}
		end = xml_find(p, at + 9, "]]>");
		if (end == SIZE_MAX) {
			xml_fail(p, at, "unterminated CDATA section");
			return -1;
		}
		for (i = at + 9; i < end; i++) {
			if (xml_is_ctl(p->buf[i])) {
				xml_fail(p, i, "control byte 0x%02x", p->buf[i]);
				return -1;
			}
		}
		xml_append(p, p->buf + at + 9, end - (at + 9));
		p->pos = end + 3;
		return 1;
	}
	if (xml_has(p, at, "<!DOCTYPE")) {
		xml_fail(p, at, "DOCTYPE not allowed");
		return -1;
	}
	if (xml_has(p, at, "<!")) {
		xml_fail(p, at, "markup declaration not allowed");
		return -1;
	}
	if (xml_has(p, at, "<?")) {
		p->pos = at + 2;
		n = xml_name(p);
		if (n == 0) {
			xml_fail(p, at, "bad processing instruction");
			return -1;
		}
		/* the declaration belongs before the root (whitespace tolerated) */
		if (n == 3 && strncasecmp((const char *)p->buf + at + 2, "xml", 3) == 0 &&
		    (p->seen_root || p->depth > 0)) {
			xml_fail(p, at, "XML declaration after the root element started");
			return -1;
		}
		if (p->pos < p->len && !xml_is_space(p->buf[p->pos]) && !xml_has(p, p->pos, "?>")) {
			xml_fail(p, at, "bad processing instruction");
			return -1;
		}
		end = xml_find(p, p->pos, "?>");
		if (end == SIZE_MAX) {
			xml_fail(p, at, "unterminated processing instruction");
			return -1;
		}
		p->pos = end + 2;
		return 1;
	}
	return 0;
}

/* At a quote: consume a quoted attribute value, checking its syntax. */
static bool
xml_attr_value(struct xml_parser *p)
{
	unsigned char q = p->buf[p->pos], tmp[4], c;
	size_t at = p->pos, n;

	p->pos++;
	while (p->pos < p->len) {
		c = p->buf[p->pos];
		if (c == q) {
			p->pos++;
			return true;
		}
		if (c == '<') {
			xml_fail(p, p->pos, "'<' in an attribute value");
			return false;
		}
		if (xml_is_ctl(c)) {
			xml_fail(p, p->pos, "control byte 0x%02x", c);
			return false;
		}
		if (c == '&') {
			if (!xml_ref(p, tmp, &n))
				return false;
			continue;
		}
		p->pos++;
	}
	xml_fail(p, at, "unterminated attribute value");
	return false;
}

/* At '<' + name: a start tag; link a new node and open it unless it is
 * self-closing. */
static void
xml_start_tag(struct xml_parser *p)
{
	size_t at = p->pos, q, qlen, local, before;
	struct xml_node *nd, *parent;
	const unsigned char *colon;
	struct xml_open *o;
	bool empty;
	char *name;

	p->pos++;
	q = p->pos;
	qlen = xml_name(p);
	if (qlen == 0) {
		xml_fail(p, at, "expected an element name");
		return;
	}
	/* local name: after "prefix:"; neither part may be empty */
	colon = memchr(p->buf + q, ':', qlen);
	local = q;
	if (colon != NULL) {
		local = (size_t)(colon - p->buf) + 1;
		if (local == q + 1 || local == q + qlen || memchr(colon + 1, ':', q + qlen - local)) {
			xml_fail(p, at, "bad element name");
			return;
		}
	}
	for (;;) {
		before = p->pos;
		xml_skip_space(p);
		if (p->pos >= p->len) {
			xml_fail(p, at, "unterminated start tag");
			return;
		}
		if (p->buf[p->pos] == '>') {
			p->pos++;
			empty = false;
			break;
		}
		if (xml_has(p, p->pos, "/>")) {
			p->pos += 2;
			empty = true;
			break;
		}
		if (p->pos == before || xml_name(p) == 0) {
			xml_fail(p, p->pos, "bad attribute");
			return;
		}
		xml_skip_space(p);
		if (p->pos >= p->len || p->buf[p->pos] != '=') {
			xml_fail(p, p->pos, "expected '=' after attribute name");
			return;
		}
		p->pos++;
		xml_skip_space(p);
		if (p->pos >= p->len || (p->buf[p->pos] != '"' && p->buf[p->pos] != '\'')) {
			xml_fail(p, p->pos, "expected a quoted attribute value");
			return;
		}
		if (!xml_attr_value(p))
			return;
	}
	if (p->depth >= XML_MAX_DEPTH) {
		xml_fail(p, at, "elements nested deeper than %d", XML_MAX_DEPTH);
		return;
	}
	if (p->nodes >= XML_MAX_NODES) {
		xml_fail(p, at, "more than %d elements", XML_MAX_NODES);
		return;
	}
	p->nodes++;
	nd = xcalloc(1, sizeof *nd + (q + qlen - local) + 1);
	name = (char *)(nd + 1);
	memcpy(name, p->buf + local, q + qlen - local);
	name[q + qlen - local] = '\0';
	nd->name = name;
	if (p->depth == 0) {
		p->root = nd;
		p->seen_root = true;
	} else {
		o = &p->open[p->depth - 1];
		parent = o->node;
		nd->parent = parent;
		if (o->last != NULL)
			o->last->next = nd;
		else
			parent->child = nd;
		o->last = nd;
	}
	if (empty) {
		nd->text = xcalloc(1, 1);
		return;
	}
	o = &p->open[p->depth++];
	o->node = nd;
	o->last = NULL;
	o->qname = q;
	o->qlen = qlen;
	o->cap = 0;
}

/* At "</": an end tag, which must match the innermost open element. */
static void
xml_end_tag(struct xml_parser *p)
{
	size_t at = p->pos, q, qlen;
	struct xml_open *o;

	p->pos += 2;
	q = p->pos;
	qlen = xml_name(p);
	if (qlen == 0) {
		xml_fail(p, at, "bad end tag");
		return;
	}
	if (p->depth == 0) {
		xml_fail(p, at, "end tag </%.*s> without a start tag", (int)(qlen > 64 ? 64 : qlen),
		    (const char *)p->buf + q);
		return;
	}
	o = &p->open[p->depth - 1];
	if (qlen != o->qlen || memcmp(p->buf + q, p->buf + o->qname, qlen) != 0) {
		xml_fail(p, at, "mismatched end tag </%.*s>", (int)(qlen > 64 ? 64 : qlen),
		    (const char *)p->buf + q);
		return;
	}
	xml_skip_space(p);
	if (p->pos >= p->len || p->buf[p->pos] != '>') {
		xml_fail(p, at, "unterminated end tag");
		return;
	}
	p->pos++;
	if (o->node->text == NULL)
		o->node->text = xcalloc(1, 1);
	p->depth--;
}

/* One step inside an element: text, a reference, or markup. */
static void
xml_content(struct xml_parser *p)
{
	unsigned char c = p->buf[p->pos], tmp[4];
	size_t at = p->pos, n;
	int r;

	if (c == '<') {
		r = xml_markup(p);
		if (r != 0)
			return;
		if (xml_has(p, at, "</"))
			xml_end_tag(p);
		else
			xml_start_tag(p);
		return;
	}
	if (c == '&') {
		if (xml_ref(p, tmp, &n))
			xml_append(p, tmp, n);
		return;
	}
	while (p->pos < p->len) {
		c = p->buf[p->pos];
		if (c == '<' || c == '&' || xml_is_ctl(c))
			break;
		p->pos++;
	}
	if (p->pos == at) {
		xml_fail(p, at, "control byte 0x%02x", c);
		return;
	}
	xml_append(p, p->buf + at, p->pos - at);
}

static void
xml_free_tree(struct xml_node *n)
{
	struct xml_node *next;

	for (; n != NULL; n = next) {
		next = n->next;
		xml_free_tree(n->child);    /* recursion bounded by XML_MAX_DEPTH */
		free(n->text);
		free(n);
	}
}

/* ---- parsing: the API ---- */

struct xml_node *
xml_parse(const char *buf, size_t len, char *why, size_t whylen)
{
	struct xml_parser p;
	int r;

	memset(&p, 0, sizeof p);
	p.buf = (const unsigned char *)buf;
	p.len = buf != NULL ? len : 0;
	p.why = why;
	p.whylen = whylen;
	if (why != NULL && whylen > 0)
		why[0] = '\0';
	if (xml_has(&p, 0, "\xEF\xBB\xBF"))
		p.pos = 3;
	p.start = p.pos;
	while (!p.failed) {
		if (p.depth > 0) {
			if (p.pos >= p.len)
				xml_fail(&p, p.pos, "unclosed element <%s>", p.open[p.depth - 1].node->name);
			else
				xml_content(&p);
			continue;
		}
		/* prolog and epilog: whitespace, comments, PIs, one root */
		xml_skip_space(&p);
		if (p.pos >= p.len)
			break;
		if (p.buf[p.pos] != '<') {
			xml_fail(&p, p.pos, p.seen_root ? "text after the root element" :
			    "text before the root element");
			break;
		}
		r = xml_markup(&p);
		if (r != 0)
			continue;
		if (xml_has(&p, p.pos, "</"))
			xml_end_tag(&p);
		else if (p.seen_root)
			xml_fail(&p, p.pos, "second root element");
		else
			xml_start_tag(&p);
	}
	if (!p.failed && !p.seen_root)
		xml_fail(&p, p.pos, "no root element");
	if (p.failed) {
		xml_free(p.root);
		return NULL;
	}
	return p.root;
}

void
xml_free(struct xml_node *root)
{
	if (root == NULL)
		return;
	xml_free_tree(root->child);
	free(root->text);
	free(root);
}

struct xml_node *
xml_child(const struct xml_node *n, const char *name, const struct xml_node *after)
{
	struct xml_node *c;

	if (n == NULL)
		return NULL;
	if (after != NULL && after->parent != n)
		return NULL;
	for (c = after != NULL ? after->next : n->child; c != NULL; c = c->next)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

const char *
xml_child_text(const struct xml_node *n, const char *name)
{
	const struct xml_node *c = xml_child(n, name, NULL);

	return c != NULL ? c->text : NULL;
}
