/* Fuzz target: what the S3 gateway reads from the network before anything
 * is stored — SigV4 verification (canonical request from a hostile method,
 * URI and headers), the aws-chunked body decoder and the XML parser.
 * Input: "METHOD URI\n", then "name: value\n" header lines, an empty line,
 * then the body.  Nothing may crash; nothing signed with an unknown secret
 * may verify. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "s3/sigv4.h"
#include "s3/xml.h"
#include "t/fuzz/fuzz.h"

#define FUZZ_MAX_HEADERS 64

static int
fuzz_lookup(void *arg, const char *key_id, char *secret)
{
	(void)arg;
	if (strcmp(key_id, "AKIDFUZZ") != 0)
		return -1;
	strcpy(secret, "fuzz-secret");
	return 0;
}

static void
fuzz_emit(void *arg, const uint8_t *data, size_t len)
{
	(void)arg;
	(void)data;
	(void)len;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), *line, *save = NULL, *sp, *body;
	struct sigv4_header h[FUZZ_MAX_HEADERS];
	struct sigv4_request rq;
	struct sigv4_auth auth;
	struct sigv4_chunked d;
	struct xml_node *doc;
	char why[256];
	size_t n = 0, blen;
	unsigned chunks = 0;

	if (text == NULL || sodium_init() < 0) {
		free(text);
		return 0;
	}
	memcpy(text, data, size);
	text[size] = '\0';
	body = strstr(text, "\n\n");
	if (body != NULL) {
		*body = '\0';
		body += 2;
	} else {
		body = text + strlen(text);
	}
	blen = size - (size_t)(body - text);
	line = strtok_r(text, "\n", &save);
	memset(&rq, 0, sizeof rq);
	rq.method = "GET";
	rq.uri = "/";
	if (line != NULL && (sp = strchr(line, ' ')) != NULL) {
		*sp = '\0';
		rq.method = line;
		rq.uri = sp + 1;
	}
	while ((line = strtok_r(NULL, "\n", &save)) != NULL && n < FUZZ_MAX_HEADERS) {
		char *colon = strchr(line, ':');
		if (colon == NULL)
			continue;
		*colon = '\0';
		h[n].name = line;
		h[n++].value = colon + 1;
	}
	rq.headers = h;
	rq.n_headers = n;
	if (sigv4_verify(&rq, 1369353600, fuzz_lookup, NULL, &auth, why, sizeof why) != SIGV4_OK)
		memset(&auth, 0, sizeof auth);     /* decode the body with a zero key anyway */
	sigv4_chunked_init(&d, &auth, 1 << 20);
	d.with_trailer = blen % 2 == 1;         /* ...-PAYLOAD-TRAILER for half the inputs */
	sigv4_chunked_feed(&d, (const uint8_t *)body, blen, fuzz_emit, NULL, &chunks, why, sizeof why);
	sigv4_chunked_free(&d);
	doc = xml_parse(body, blen, why, sizeof why);
	if (doc != NULL) {
		for (struct xml_node *c = xml_child(doc, "Part", NULL); c; c = xml_child(doc, "Part", c))
			(void)xml_child_text(c, "ETag");
		xml_free(doc);
	}
	free(text);
	return 0;
}
