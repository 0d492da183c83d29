/* S3 XML: the writers' exact output, the request bodies S3 clients send, and
 * refusal of hostile or broken input (run under ASan). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "s3/xml.h"
#include "unit/check_main.h"

#define DECL "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
#define NS "http://s3.amazonaws.com/doc/2006-03-01/"

static char why[256];

/* The buffer's contents as a NUL-terminated string (freed by the caller). */
static char *
take(struct evbuffer *b)
{
	size_t n = evbuffer_get_length(b);
	char *s = malloc(n + 1);

	evbuffer_remove(b, s, n);
	s[n] = '\0';
	return s;
}

static void
expect_escape(const char *in, size_t len, const char *want)
{
	struct evbuffer *b = evbuffer_new();
	char *got;

	xml_escape(b, in, len);
	got = take(b);
	ck_assert_str_eq(got, want);
	free(got);
	evbuffer_free(b);
}

/* Parse from an exactly-sized heap copy so that ASan sees any overread. */
static struct xml_node *
parse(const char *doc, size_t len)
{
	char *copy = malloc(len ? len : 1);
	struct xml_node *root;

	memcpy(copy, doc, len);
	why[0] = 'X';
	root = xml_parse(copy, len, why, sizeof why);
	free(copy);
	return root;
}

static struct xml_node *
parse_ok(const char *doc)
{
	struct xml_node *root = parse(doc, strlen(doc));

	ck_assert_msg(root != NULL, "refused: %s (%s)", why, doc);
	ck_assert_str_eq(why, "");
	return root;
}

static void
refuse(const char *doc, size_t len, const char *want)
{
	struct xml_node *root = parse(doc, len);

	ck_assert_msg(root == NULL, "accepted: %.*s", (int)len, doc);
	ck_assert_msg(strncmp(why, "XML: ", 5) == 0 && strchr(why, '\n') == NULL, "why: %s", why);
	if (want != NULL)
		ck_assert_msg(strstr(why, want) != NULL, "why: %s, want %s", why, want);
}

#define REFUSE(doc, want) refuse(doc, sizeof(doc) - 1, want)

/* Structural sanity of any accepted tree; the number of elements. */
static unsigned
walk(const struct xml_node *n, const struct xml_node *parent, unsigned depth)
{
	unsigned count = 0;

	for (; n != NULL; n = n->next) {
		ck_assert_ptr_eq(n->parent, parent);
		ck_assert_ptr_nonnull(n->text);
		ck_assert_uint_eq(strlen(n->text) <= n->text_len, 1);
		ck_assert_int_eq(n->text[n->text_len], '\0');
		ck_assert_uint_gt(strlen(n->name), 0);
		ck_assert_ptr_null(strchr(n->name, ':'));
		ck_assert_uint_le(depth, XML_MAX_DEPTH);
		count += 1 + walk(n->child, n, depth + 1);
	}
	return count;
}

/* ---- writing ---- */

START_TEST(escape_specials)
{
	expect_escape("a&b<c>d\"e'f", 11, "a&amp;b&lt;c&gt;d&quot;e&apos;f");
	expect_escape("", 0, "");
	expect_escape("plain/key.txt", 13, "plain/key.txt");
	expect_escape("\t\r\n", 3, "\t\r\n");
	expect_escape("\x01x\x1f\x7f", 4, "&#x1;x&#x1F;\x7f");
	expect_escape("a\0b", 3, "a&#x0;b");
	/* UTF-8 keys pass through byte for byte */
	expect_escape("caf\xc3\xa9/\xe6\x97\xa5\xe6\x9c\xac/\xf0\x9f\x98\x80&",
	    strlen("caf\xc3\xa9/\xe6\x97\xa5\xe6\x9c\xac/\xf0\x9f\x98\x80&"),
	    "caf\xc3\xa9/\xe6\x97\xa5\xe6\x9c\xac/\xf0\x9f\x98\x80&amp;");
	/* only the given length is read */
	expect_escape("ab<cd", 2, "ab");
}
END_TEST

START_TEST(escape_round_trip)
{
	struct evbuffer *b = evbuffer_new();
	struct xml_node *root;
	char key[255], *doc;
	unsigned i;

	for (i = 1; i < 256; i++)
		key[i - 1] = (char)i;
	evbuffer_add_printf(b, "<Key>");
	xml_escape(b, key, sizeof key);
	evbuffer_add_printf(b, "</Key>");
	doc = take(b);
	root = parse_ok(doc);
	ck_assert_str_eq(root->name, "Key");
	ck_assert_uint_eq(root->text_len, sizeof key);
	ck_assert_int_eq(memcmp(root->text, key, sizeof key), 0);
	xml_free(root);
	free(doc);
	evbuffer_free(b);
}
END_TEST

START_TEST(writers)
{
	struct evbuffer *b = evbuffer_new();
	char *got;

	xml_open_doc(b, "ListBucketResult");
	xml_elem(b, "Name", "bkt");
	xml_elem(b, "Key", "a<b>&'\"");
	xml_elem(b, "Prefix", "");
	xml_elem_u64(b, "Size", 0);
	xml_elem_u64(b, "Max", UINT64_MAX);
	evbuffer_add_printf(b, "</ListBucketResult>");
	got = take(b);
	ck_assert_str_eq(got, DECL "<ListBucketResult xmlns=\"" NS "\">"
	    "<Name>bkt</Name><Key>a&lt;b&gt;&amp;&apos;&quot;</Key><Prefix></Prefix>"
	    "<Size>0</Size><Max>18446744073709551615</Max></ListBucketResult>");
	free(got);
	evbuffer_free(b);
}
END_TEST

START_TEST(error_doc)
{
	struct evbuffer *b = evbuffer_new();
	struct xml_node *root;
	char *got;

	xml_error(b, "NoSuchKey", "The specified key does not exist.", "/bkt/a&b.txt",
	    "4442587FB7D0A2F9");
	got = take(b);
	ck_assert_str_eq(got, DECL "<Error><Code>NoSuchKey</Code>"
	    "<Message>The specified key does not exist.</Message>"
	    "<Resource>/bkt/a&amp;b.txt</Resource><RequestId>4442587FB7D0A2F9</RequestId></Error>");
	/* and our own parser reads it back */
	root = parse_ok(got);
	ck_assert_str_eq(root->name, "Error");
	ck_assert_str_eq(xml_child_text(root, "Code"), "NoSuchKey");
	ck_assert_str_eq(xml_child_text(root, "Resource"), "/bkt/a&b.txt");
	xml_free(root);
	free(got);

	xml_error(b, "AccessDenied", "Access Denied", NULL, NULL);
	got = take(b);
	ck_assert_str_eq(got, DECL "<Error><Code>AccessDenied</Code><Message>Access Denied</Message>"
	    "</Error>");
	free(got);
	evbuffer_free(b);
}
END_TEST

/* ---- parsing what clients send ---- */

/* Check a CompleteMultipartUpload tree: parts 1..3 with ETag "etagN". */
static void
check_complete(struct xml_node *root, bool has_checksum)
{
	struct xml_node *part = NULL;
	char want[32];
	unsigned n = 0;

	ck_assert_str_eq(root->name, "CompleteMultipartUpload");
	ck_assert_ptr_null(root->parent);
	while ((part = xml_child(root, "Part", part)) != NULL) {
		n++;
		ck_assert_str_eq(part->name, "Part");
		snprintf(want, sizeof want, "\"etag%u\"", n);
		ck_assert_str_eq(xml_child_text(part, "ETag"), want);
		snprintf(want, sizeof want, "%u", n);
		ck_assert_str_eq(xml_child_text(part, "PartNumber"), want);
		if (has_checksum)
			ck_assert_str_eq(xml_child_text(part, "ChecksumCRC32"), "AAAAAA==");
		else
			ck_assert_ptr_null(xml_child_text(part, "ChecksumCRC32"));
	}
	ck_assert_uint_eq(n, 3);
	ck_assert_uint_eq(walk(root, NULL, 1), has_checksum ? 13 : 10);
}

START_TEST(complete_multipart_awscli)
{
	/* botocore serializes without a declaration or whitespace */
	struct xml_node *root = parse_ok(
	    "<CompleteMultipartUpload xmlns=\"" NS "\">"
	    "<Part><ETag>\"etag1\"</ETag><PartNumber>1</PartNumber></Part>"
	    "<Part><ETag>\"etag2\"</ETag><PartNumber>2</PartNumber></Part>"
	    "<Part><ETag>\"etag3\"</ETag><PartNumber>3</PartNumber></Part>"
	    "</CompleteMultipartUpload>");

	check_complete(root, false);
	ck_assert_str_eq(root->text, "");
	ck_assert_uint_eq(root->text_len, 0);
	xml_free(root);
}
END_TEST

START_TEST(complete_multipart_escaped)
{
	/* SDKs that escape quotes, pretty-print, and add checksums */
	struct xml_node *root = parse_ok(
	    "\xEF\xBB\xBF" DECL
	    "<CompleteMultipartUpload xmlns='" NS "'>\n"
	    "  <Part>\n"
	    "    <ETag>&quot;etag1&quot;</ETag>\n"
	    "    <ChecksumCRC32>AAAAAA==</ChecksumCRC32>\n"
	    "    <PartNumber>1</PartNumber>\n"
	    "  </Part>\n"
	    "  <Part><ChecksumCRC32>AAAAAA==</ChecksumCRC32><PartNumber>2</PartNumber>"
	    "<ETag>&#34;etag2&#x22;</ETag></Part>\n"
	    "  <Part><ETag>&quot;etag3&quot;</ETag><PartNumber>3</PartNumber>"
	    "<ChecksumCRC32>AAAAAA==</ChecksumCRC32></Part>\n"
	    "</CompleteMultipartUpload>\n");

	check_complete(root, true);
	/* the root's text is the whitespace between its children */
	ck_assert_str_eq(root->text, "\n  \n  \n  \n");
	ck_assert_str_eq(root->child->text, "\n    \n    \n    \n  ");
	xml_free(root);
}
END_TEST

START_TEST(delete_objects)
{
	static const char *const keys[] = { "a&b", "dir/<x>.txt", "caf\xc3\xa9 \"q\" 'a'" };
	struct xml_node *root = parse_ok(
	    DECL "<Delete xmlns=\"" NS "\">"
	    "<Quiet>true</Quiet>"
	    "<Object><Key>a&amp;b</Key></Object>"
	    "<Object><Key>dir/&lt;x&gt;.txt</Key><VersionId>v1</VersionId></Object>"
	    "<Object><Key>caf\xc3\xa9 &quot;q&quot; &apos;a&apos;</Key></Object>"
	    "</Delete>");
	struct xml_node *obj = NULL;
	unsigned n = 0;

	ck_assert_str_eq(root->name, "Delete");
	ck_assert_str_eq(xml_child_text(root, "Quiet"), "true");
	ck_assert_ptr_null(xml_child_text(root, "Missing"));
	while ((obj = xml_child(root, "Object", obj)) != NULL) {
		ck_assert_uint_lt(n, 3);
		ck_assert_str_eq(xml_child_text(obj, "Key"), keys[n]);
		if (n == 1)
			ck_assert_str_eq(xml_child_text(obj, "VersionId"), "v1");
		else
			ck_assert_ptr_null(xml_child(obj, "VersionId", NULL));
		n++;
	}
	ck_assert_uint_eq(n, 3);
	/* `after` that is not a child of n finds nothing */
	ck_assert_ptr_null(xml_child(root, "Key", root->child->next->child));
	ck_assert_ptr_null(xml_child(NULL, "Key", NULL));
	ck_assert_ptr_null(xml_child_text(NULL, "Key"));
	xml_free(root);
}
END_TEST

START_TEST(create_bucket_config)
{
	struct xml_node *root = parse_ok(
	    "<CreateBucketConfiguration xmlns=\"" NS "\">"
	    "<LocationConstraint>eu-west-1</LocationConstraint></CreateBucketConfiguration>");

	ck_assert_str_eq(root->name, "CreateBucketConfiguration");
	ck_assert_str_eq(xml_child_text(root, "LocationConstraint"), "eu-west-1");
	xml_free(root);

	root = parse_ok("<CreateBucketConfiguration><LocationConstraint/></CreateBucketConfiguration>");
	ck_assert_str_eq(xml_child_text(root, "LocationConstraint"), "");
	xml_free(root);
}
END_TEST

START_TEST(syntax_bits)
{
	struct xml_node *root, *c;

	/* CDATA is literal; text is the concatenation of direct character data */
	root = parse_ok("<a>x<![CDATA[<b>&amp;]]]]>y<c>in</c> z<![CDATA[]]></a>");
	ck_assert_str_eq(root->text, "x<b>&amp;]]y z");
	ck_assert_str_eq(xml_child_text(root, "c"), "in");
	xml_free(root);

	/* comments and PIs anywhere, whitespace after the root */
	root = parse_ok("<?xml version='1.0'?><!-- a - b --><?pi data?>\n<a><!--c<d>&bogus;-->t<?x y?>"
	    "</a>\n<!-- end -->\n<?after?>\n");
	ck_assert_str_eq(root->text, "t");
	ck_assert_ptr_null(root->child);
	xml_free(root);

	/* self-closing, attributes in both quotes, '>' and references in values */
	root = parse_ok("<a><b/><c x=\"1\" y='2&amp;>' /><d\n z = \"'\" ></d ></a>");
	c = root->child;
	ck_assert_str_eq(c->name, "b");
	ck_assert_str_eq(c->text, "");
	ck_assert_str_eq(c->next->name, "c");
	ck_assert_str_eq(c->next->next->name, "d");
	ck_assert_ptr_null(c->next->next->next);
	ck_assert_uint_eq(walk(root, NULL, 1), 4);
	xml_free(root);

	root = parse_ok("<only/>");
	ck_assert_str_eq(root->name, "only");
	ck_assert_str_eq(root->text, "");
	xml_free(root);

	/* namespace prefixes: local names, end tag matches the qualified name */
	root = parse_ok("<s3:Delete xmlns:s3=\"" NS "\"><s3:Object><Key>k</Key></s3:Object></s3:Delete>");
	ck_assert_str_eq(root->name, "Delete");
	ck_assert_str_eq(xml_child_text(xml_child(root, "Object", NULL), "Key"), "k");
	xml_free(root);

	/* names with digits, dots, dashes; UTF-8 names */
	root = parse_ok("<a.b-c_1><\xc3\xa9t\xc3\xa9>x</\xc3\xa9t\xc3\xa9></a.b-c_1>");
	ck_assert_str_eq(xml_child_text(root, "\xc3\xa9t\xc3\xa9"), "x");
	xml_free(root);

	/* a NULL why is fine */
	ck_assert_ptr_null(xml_parse("<a>", 3, NULL, 0));
	ck_assert_ptr_null(xml_parse(NULL, 0, why, sizeof why));
	/* a tiny why is truncated, not overrun */
	{
		char small[8];
		ck_assert_ptr_null(xml_parse("<a></b>", 7, small, sizeof small));
		ck_assert_str_eq(small, "XML: mi");
	}
	xml_free(NULL);
}
END_TEST

START_TEST(numeric_refs)
{
	struct xml_node *root;

	root = parse_ok("<a>&#65;&#x41;&#x00042;&#xe9;&#x65E5;&#x1F600;&#128512;&#x10FFFF;&#1;</a>");
	ck_assert_str_eq(root->text, "AAB\xc3\xa9\xe6\x97\xa5\xf0\x9f\x98\x80\xf0\x9f\x98\x80"
	    "\xf4\x8f\xbf\xbf\x01");
	ck_assert_uint_eq(root->text_len, 21);
	xml_free(root);

	REFUSE("<a>&#0;</a>", "out of range");
	REFUSE("<a>&#x0000;</a>", "out of range");
	REFUSE("<a>&#xD800;</a>", "out of range");
	REFUSE("<a>&#xDFFF;</a>", "out of range");
	REFUSE("<a>&#x110000;</a>", "out of range");
	REFUSE("<a>&#99999999999999999999999;</a>", "out of range");
	REFUSE("<a>&#xFFFFFFFFFFFFFFFF41;</a>", "out of range");
	REFUSE("<a>&#;</a>", "bad character reference");
	REFUSE("<a>&#x;</a>", "bad character reference");
	REFUSE("<a>&#X41;</a>", "bad character reference");
	REFUSE("<a>&#65</a>", "bad character reference");
	REFUSE("<a>&#x4G;</a>", "bad character reference");
}
END_TEST

/* ---- refusals ---- */

START_TEST(refusals)
{
	/* billion laughs: no DOCTYPE at all */
	REFUSE(DECL "<!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;&lol;&lol;\">]>"
	    "<lolz>&lol2;</lolz>", "DOCTYPE not allowed at byte 39");
	REFUSE("<!DOCTYPE a SYSTEM \"file:///etc/passwd\"><a/>", "DOCTYPE");
	REFUSE("<a><!ENTITY x \"y\"></a>", "not allowed");
	REFUSE("<a><!doctype></a>", "not allowed");
	REFUSE("<a>&foo;</a>", "unknown entity &foo; at byte 3");
	REFUSE("<a>&lol2;</a>", "unknown entity");
	REFUSE("<a>&amp</a>", "bad entity reference");
	REFUSE("<a>& b</a>", "bad entity reference");
	REFUSE("<a>&;</a>", "bad entity reference");
	REFUSE("<a>&averyverylongname;</a>", "bad entity reference");
	REFUSE("<a x=\"&foo;\"/>", "unknown entity");
	/* balance */
	REFUSE("<CompleteMultipartUpload><Part><ETag>x</ETag></part></CompleteMultipartUpload>",
	    "XML: mismatched end tag </part> at byte 45");
	REFUSE("<s3:Part></Part>", "mismatched end tag </Part>");
	REFUSE("<a><b></a></b>", "mismatched");
	REFUSE("<a>", "unclosed element <a>");
	REFUSE("<a><b></b>", "unclosed element <a>");
	REFUSE("</a>", "without a start tag");
	REFUSE("<a></a></a>", "without a start tag");
	REFUSE("<a/><b/>", "second root element");
	REFUSE("<a></a>\n<a></a>", "second root element");
	REFUSE("<a></a>x", "text after the root element");
	REFUSE("x<a></a>", "text before the root element");
	REFUSE("<a></a><![CDATA[x]]>", "CDATA outside");
	REFUSE("", "no root element");
	REFUSE(" \n\t", "no root element");
	REFUSE("<!-- only -->", "no root element");
	REFUSE("\xEF\xBB\xBF", "no root element");
	/* syntax */
	REFUSE("<a><!-- x -- y --></a>", "'--' inside a comment");
	REFUSE("<a><!-- x </a>", "unterminated comment");
	REFUSE("<a><![CDATA[x</a>", "unterminated CDATA");
	REFUSE("<a><?pi x</a>", "unterminated processing");
	REFUSE("<a><?pi</a>", "bad processing instruction");
	REFUSE("<a><? x?></a>", "bad processing instruction");
	REFUSE("<a></a><?xml version='1.0'?>", "XML declaration");
	REFUSE("<a x=\"<\"/>", "'<' in an attribute value");
	REFUSE("<a x='1\"/>", "unterminated attribute value");
	REFUSE("<a x/>", "expected '='");
	REFUSE("<a x=1/>", "expected a quoted attribute value");
	REFUSE("<a x='1'y='2'/>", "bad attribute");
	REFUSE("<a / >", "bad attribute");
	REFUSE("< a/>", "expected an element name");
	REFUSE("<1a/>", "expected an element name");
	REFUSE("<:a/>", "bad element name");
	REFUSE("<a:/>", "bad element name");
	REFUSE("<a:b:c/>", "bad element name");
	REFUSE("<a></ a>", "bad end tag");
	REFUSE("<a></a", "unterminated end tag");
	REFUSE("<a></a x>", "unterminated end tag");
	REFUSE("<a x='1'", "unterminated start tag");
	REFUSE("<a>\x01</a>", "control byte 0x01");
	REFUSE("<a>x\0y</a>", "control byte 0x00");
	REFUSE("<a><![CDATA[\x02]]></a>", "control byte");
	REFUSE("<a x='\x1f'/>", "control byte");
}
END_TEST

/* n nested <e> elements: n ok up to XML_MAX_DEPTH. */
static char *
nested(unsigned n)
{
	char *doc = malloc(n * 7 + 1), *p = doc;
	unsigned i;

	for (i = 0; i < n; i++)
		p += sprintf(p, "<e>");
	for (i = 0; i < n; i++)
		p += sprintf(p, "</e>");
	return doc;
}

START_TEST(limits)
{
	struct xml_node *root;
	char *doc, *p;
	unsigned i;

	doc = nested(XML_MAX_DEPTH);
	root = parse_ok(doc);
	ck_assert_uint_eq(walk(root, NULL, 1), XML_MAX_DEPTH);
	xml_free(root);
	free(doc);
	doc = nested(XML_MAX_DEPTH + 1);
	refuse(doc, strlen(doc), "nested deeper than 32");
	free(doc);
	/* a self-closing leaf counts as a level too */
	{
		char deep[XML_MAX_DEPTH * 7 + 16];
		p = deep;
		for (i = 0; i < XML_MAX_DEPTH; i++)
			p += sprintf(p, "<e>");
		p += sprintf(p, "<f/>");
		for (i = 0; i < XML_MAX_DEPTH; i++)
			p += sprintf(p, "</e>");
		refuse(deep, strlen(deep), "nested deeper");
	}

	/* a root and XML_MAX_NODES - 1 children: fine; one more: refused */
	doc = malloc(16 + (XML_MAX_NODES + 1) * 4);
	p = doc + sprintf(doc, "<Delete>");
	for (i = 0; i < XML_MAX_NODES - 1; i++)
		p += sprintf(p, "<o/>");
	sprintf(p, "</Delete>");
	root = parse_ok(doc);
	ck_assert_uint_eq(walk(root, NULL, 1), XML_MAX_NODES);
	xml_free(root);
	sprintf(p, "<o/></Delete>");
	refuse(doc, strlen(doc), "more than 20000 elements");
	free(doc);
}
END_TEST

/* Every proper prefix of a valid document is refused; none overreads. */
START_TEST(truncation)
{
	static const char doc[] = "\xEF\xBB\xBF" DECL "<!-- c -->\n"
	    "<CompleteMultipartUpload xmlns=\"" NS "\" a='x&amp;y'>\n"
	    " <Part><ETag>&quot;e1&quot;</ETag><PartNumber>1</PartNumber></Part>\n"
	    " <Part><ETag>\"e2\"</ETag><PartNumber>&#50;</PartNumber><X/><![CDATA[c<d]]></Part>\n"
	    " <s3:Part><ETag>&#x1F600;</ETag></s3:Part ><?pi x?>"
	    "</CompleteMultipartUpload>";
	size_t len = sizeof doc - 1, i;
	struct xml_node *root;

	for (i = 0; i < len; i++) {
		root = parse(doc, i);
		ck_assert_msg(root == NULL, "prefix %zu accepted", i);
		ck_assert_msg(strncmp(why, "XML: ", 5) == 0, "prefix %zu: %s", i, why);
	}
	root = parse(doc, len);
	ck_assert_msg(root != NULL, "%s", why);
	ck_assert_uint_eq(walk(root, NULL, 1), 10);
	ck_assert_str_eq(xml_child_text(xml_child(root, "Part", root->child), "PartNumber"), "2");
	xml_free(root);
}
END_TEST

static uint64_t rng = 0x9E3779B97F4A7C15ull;

static uint64_t
next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void
fuzz_one(const char *buf, size_t len)
{
	struct xml_node *root = parse(buf, len);

	if (root != NULL) {
		ck_assert_ptr_null(root->parent);
		ck_assert_ptr_null(root->next);
		walk(root, NULL, 1);
		xml_free(root);
	} else {
		ck_assert_msg(strncmp(why, "XML: ", 5) == 0, "%s", why);
	}
}

/* Random bytes, random bytes from an XML alphabet, and mutated documents. */
START_TEST(random_input)
{
	static const char alpha[] = "<>/!?&#;x=\"' -[]CDATA:abe0123\n";
	static const char seed[] = DECL "<Delete xmlns=\"" NS "\"><Quiet>true</Quiet>"
	    "<Object><Key>a&amp;b&#x41;</Key></Object><!-- c --><Object><Key><![CDATA[k]]></Key>"
	    "</Object></Delete>";
	char buf[512];
	unsigned i, j;
	size_t len;

	for (i = 0; i < 3000; i++) {
		len = next_rand() % sizeof buf;
		for (j = 0; j < len; j++)
			buf[j] = (char)next_rand();
		fuzz_one(buf, len);
	}
	for (i = 0; i < 3000; i++) {
		len = next_rand() % 64;
		for (j = 0; j < len; j++)
			buf[j] = alpha[next_rand() % (sizeof alpha - 1)];
		fuzz_one(buf, len);
	}
	for (i = 0; i < 3000; i++) {
		len = sizeof seed - 1;
		memcpy(buf, seed, len);
		for (j = 0; j < 1 + next_rand() % 4; j++) {
			size_t at = next_rand() % len;
			switch (next_rand() % 3) {
			case 0:
				buf[at] = (char)next_rand();
				break;
			case 1:
				buf[at] = alpha[next_rand() % (sizeof alpha - 1)];
				break;
			default:
				memmove(buf + at, buf + at + 1, len - at - 1);
				len--;
				break;
			}
		}
		fuzz_one(buf, len);
	}
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("s3_xml");
	TCase *tw = tcase_create("write");
	TCase *tp = tcase_create("parse");

	tcase_add_test(tw, escape_specials);
	tcase_add_test(tw, escape_round_trip);
	tcase_add_test(tw, writers);
	tcase_add_test(tw, error_doc);
	suite_add_tcase(s, tw);
	tcase_add_test(tp, complete_multipart_awscli);
	tcase_add_test(tp, complete_multipart_escaped);
	tcase_add_test(tp, delete_objects);
	tcase_add_test(tp, create_bucket_config);
	tcase_add_test(tp, syntax_bits);
	tcase_add_test(tp, numeric_refs);
	tcase_add_test(tp, refusals);
	tcase_add_test(tp, limits);
	tcase_add_test(tp, truncation);
	tcase_add_test(tp, random_input);
	tcase_set_timeout(tp, 60);
	suite_add_tcase(s, tp);
	return check_run(s);
}
