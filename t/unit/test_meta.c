/* Unit tests: chunking rules and hashes (src/fs/meta.c, src/fs/chunk.c). */
#include <string.h>

#include <sodium.h>

#include "fs/chunk.h"
#include "fs/meta.h"
#include "t/unit/check_main.h"

static uint8_t zero_hash[32];

START_TEST(sha256_vector)
{
	uint8_t out[32];
	char hex[65], key[72];

	/* FIPS 180-2 example: SHA-256("abc") */
	chunk_hash((const uint8_t *)"abc", 3, out);
	sodium_bin2hex(hex, sizeof hex, out, 32);
	ck_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	chunk_key(out, key);
	ck_assert_str_eq(key, "rcfs:c:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}
END_TEST

static Rcfs__FileMeta
chunked(uint64_t size, uint32_t chunk_size, size_t n, ProtobufCBinaryData *list)
{
	Rcfs__FileMeta m = RCFS__FILE_META__INIT;

	for (size_t i = 0; i < n; i++) {
		list[i].data = zero_hash;
		list[i].len = 32;
	}
	m.name = "f";
	m.size = size;
	m.chunk_size = chunk_size;
	m.chunks = list;
	m.n_chunks = n;
	m.sha256.data = zero_hash;
	m.sha256.len = 32;
	return m;
}

/* ceil(size / chunk_size) chunks: the boundaries that matter. */
START_TEST(chunk_counts)
{
	ProtobufCBinaryData list[4];
	Rcfs__FileMeta m;
	const uint32_t C = 1u << 20;

	m = chunked(1, C, 1, list);          ck_assert_ptr_null(meta_check(&m, 0));
	m = chunked(C, C, 1, list);          ck_assert_ptr_null(meta_check(&m, 0));   /* exactly one */
	m = chunked(C + 1, C, 2, list);      ck_assert_ptr_null(meta_check(&m, 0));   /* one + 1 byte */
	m = chunked(C + 1, C, 1, list);      ck_assert_ptr_nonnull(meta_check(&m, 0));
	m = chunked(C, C, 2, list);          ck_assert_ptr_nonnull(meta_check(&m, 0));
	m = chunked(0, C, 0, list);          ck_assert_ptr_null(meta_check(&m, 0));    /* empty */
	m = chunked(3 * (uint64_t)C, C, 3, list); ck_assert_ptr_null(meta_check(&m, 0));
	m = chunked(10, 0, 1, list);         ck_assert_ptr_nonnull(meta_check(&m, 0));
	m = chunked(1, C, 1, list);
	list[0].len = 31;
	ck_assert_str_eq(meta_check(&m, 0), "every chunk hash must be 32 bytes (SHA-256)");
}
END_TEST

START_TEST(inline_rules)
{
	Rcfs__FileMeta m = RCFS__FILE_META__INIT;
	uint8_t sha[32];
	uint8_t data[] = { 'h', 0, 'i' };      /* binary, with a NUL */

	chunk_hash(data, sizeof data, sha);
	m.name = "small";
	m.size = sizeof data;
	m.sha256.data = sha;
	m.sha256.len = 32;
	m.has_inline_data = 1;
	m.inline_data.data = data;
	m.inline_data.len = sizeof data;
	ck_assert_ptr_null(meta_check(&m, 64));
	ck_assert_ptr_nonnull(meta_check(&m, 2));                 /* above inline_max */
	data[0] = 'H';
	ck_assert_str_eq(meta_check(&m, 64), "inline data does not match the file's SHA-256");
	data[0] = 'h';
	m.size = 4;
	ck_assert_str_eq(meta_check(&m, 64), "inline data length differs from size");
	m.size = 3;
	m.name = "../etc/passwd";
	ck_assert_ptr_nonnull(meta_check(&m, 64));
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("meta");
	TCase *tc = tcase_create("rules");

	if (sodium_init() < 0)
		return 1;
	tcase_add_test(tc, sha256_vector);
	tcase_add_test(tc, chunk_counts);
	tcase_add_test(tc, inline_rules);
	suite_add_tcase(s, tc);
	return check_run(s);
}
