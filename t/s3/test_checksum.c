/* S3's additional checksums: the catalogue check values of each CRC
 * ("123456789"), SHA-1 and SHA-256 as S3 encodes them (base64 of the
 * big-endian value, as Python's binascii/hashlib give), and the same value
 * whatever the pieces the body arrives in. */
#include <string.h>

#include "s3/checksum.h"
#include "unit/check_main.h"

static void
expect(enum s3_checksum_alg alg, const char *data, const char *want)
{
	struct s3_checksum c;
	char out[S3_CHECKSUM_B64];

	s3_checksum_init(&c, alg);
	s3_checksum_update(&c, data, strlen(data));
	s3_checksum_final(&c, out);
	ck_assert_str_eq(out, want);
}

START_TEST(check_values)
{
	expect(S3_CHECKSUM_CRC32, "123456789", "y/Q5Jg==");             /* 0xCBF43926 */
	expect(S3_CHECKSUM_CRC32C, "123456789", "4waSgw==");            /* 0xE3069283 */
	expect(S3_CHECKSUM_CRC64NVME, "123456789", "rosUhgp5mIg=");     /* 0xAE8B14860A799888 */
	expect(S3_CHECKSUM_SHA1, "123456789", "98O8HYCOBHMq32eZZczDTKeuNEE=");
	expect(S3_CHECKSUM_SHA256, "123456789", "FeKw08M4keuw8e9gnsQZQgwg4yDOlMZfvIwzEkSOsiU=");
	expect(S3_CHECKSUM_CRC32, "", "AAAAAA==");
}
END_TEST

START_TEST(pieces)
{
	static const char data[] = "The quick brown fox jumps over the lazy dog, 0123456789 times over";
	size_t len = strlen(data);

	for (int a = S3_CHECKSUM_CRC32; a <= S3_CHECKSUM_SHA256; a++) {
		struct s3_checksum whole, split;
		char w[S3_CHECKSUM_B64], s[S3_CHECKSUM_B64];
		s3_checksum_init(&whole, (enum s3_checksum_alg)a);
		s3_checksum_update(&whole, data, len);
		s3_checksum_final(&whole, w);
		s3_checksum_init(&split, (enum s3_checksum_alg)a);
		for (size_t i = 0; i < len; i += 7)
			s3_checksum_update(&split, data + i, len - i < 7 ? len - i : 7);
		s3_checksum_final(&split, s);
		ck_assert_str_eq(w, s);
	}
}
END_TEST

START_TEST(header_names)
{
	ck_assert_int_eq(s3_checksum_alg_of("X-Amz-Checksum-CRC32"), S3_CHECKSUM_CRC32);
	ck_assert_int_eq(s3_checksum_alg_of("x-amz-checksum-crc32c"), S3_CHECKSUM_CRC32C);
	ck_assert_int_eq(s3_checksum_alg_of("x-amz-checksum-crc64nvme"), S3_CHECKSUM_CRC64NVME);
	ck_assert_int_eq(s3_checksum_alg_of("x-amz-checksum-sha1"), S3_CHECKSUM_SHA1);
	ck_assert_int_eq(s3_checksum_alg_of("x-amz-checksum-sha256"), S3_CHECKSUM_SHA256);
	ck_assert_int_eq(s3_checksum_alg_of("x-amz-checksum-type"), S3_CHECKSUM_NONE);
	ck_assert_int_eq(s3_checksum_alg_of("x-amz-checksum-md5"), S3_CHECKSUM_NONE);
	ck_assert_str_eq(s3_checksum_header(S3_CHECKSUM_CRC32), "x-amz-checksum-crc32");
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("s3_checksum");
	TCase *tc = tcase_create("checksum");

	tcase_add_test(tc, check_values);
	tcase_add_test(tc, pieces);
	tcase_add_test(tc, header_names);
	suite_add_tcase(s, tc);
	return check_run(s);
}
