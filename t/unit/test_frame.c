/* Unit tests: the frame codec (src/net/frame.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>
#include <event2/buffer.h>

#include "net/frame.h"
#include "t/unit/check_main.h"

#define MAX 4096

static struct evbuffer *one_frame(uint32_t id, const char *name);

static struct evbuffer *
one_frame(uint32_t id, const char *name)
{
	struct evbuffer *b = evbuffer_new();
	Rcfs__FileStat m = RCFS__FILE_STAT__INIT;

	m.name = (char *)name;
	frame_write(b, RCFS__MSG_TYPE__MSG_FILE_STAT, 0, id, &m.base);
	return b;
}

START_TEST(roundtrip)
{
	struct evbuffer *b = one_frame(7, "a/b");
	struct frame_header h;
	ProtobufCMessage *msg = NULL;
	const char *why = NULL;
	uint8_t raw[FRAME_HEADER_LEN];

	evbuffer_copyout(b, raw, sizeof raw);
	ck_assert_mem_eq(raw, "RCFS", 4);
	ck_assert_int_eq(raw[4], FRAME_VERSION);
	ck_assert_int_eq(raw[5], RCFS__MSG_TYPE__MSG_FILE_STAT);
	ck_assert_int_eq(raw[11], 7);               /* big-endian request id */
	ck_assert_int_eq(frame_read(b, MAX, &h, &msg, &why), FRAME_OK);
	ck_assert_uint_eq(h.request_id, 7);
	ck_assert_uint_eq(h.type, RCFS__MSG_TYPE__MSG_FILE_STAT);
	ck_assert_str_eq(((Rcfs__FileStat *)msg)->name, "a/b");
	ck_assert_uint_eq(evbuffer_get_length(b), 0);
	protobuf_c_message_free_unpacked(msg, NULL);
	evbuffer_free(b);
}
END_TEST

START_TEST(empty_payload)
{
	struct evbuffer *b = evbuffer_new();
	struct frame_header h;
	ProtobufCMessage *msg = NULL;
	const char *why = NULL;

	frame_write(b, RCFS__MSG_TYPE__MSG_STATUS, 0, 1, NULL);
	ck_assert_uint_eq(evbuffer_get_length(b), FRAME_HEADER_LEN);
	ck_assert_int_eq(frame_read(b, MAX, &h, &msg, &why), FRAME_OK);
	ck_assert_uint_eq(h.length, 0);
	protobuf_c_message_free_unpacked(msg, NULL);
	evbuffer_free(b);
}
END_TEST

/* A frame arriving one byte at a time is only taken when whole. */
START_TEST(split_frame)
{
	struct evbuffer *src = one_frame(9, "split/name"), *b = evbuffer_new();
	size_t total = evbuffer_get_length(src);
	struct frame_header h;
	ProtobufCMessage *msg = NULL;
	const char *why = NULL;

	for (size_t i = 0; i < total; i++) {
		uint8_t c;
		ck_assert_int_eq(frame_read(b, MAX, &h, &msg, &why), FRAME_NEED_MORE);
		ck_assert_uint_eq(evbuffer_get_length(b), i);    /* nothing consumed */
		evbuffer_remove(src, &c, 1);
		evbuffer_add(b, &c, 1);
	}
	ck_assert_int_eq(frame_read(b, MAX, &h, &msg, &why), FRAME_OK);
	ck_assert_str_eq(((Rcfs__FileStat *)msg)->name, "split/name");
	protobuf_c_message_free_unpacked(msg, NULL);
	evbuffer_free(src);
	evbuffer_free(b);
}
END_TEST

/* Several frames in one read come out one by one, in order. */
START_TEST(several_frames)
{
	struct evbuffer *b = evbuffer_new();
	struct frame_header h;
	ProtobufCMessage *msg = NULL;
	const char *why = NULL;
	char name[16];

	for (int i = 1; i <= 5; i++) {
		struct evbuffer *f;
		snprintf(name, sizeof name, "f%d", i);
		f = one_frame((uint32_t)i, name);
		evbuffer_add_buffer(b, f);
		evbuffer_free(f);
	}
	evbuffer_add(b, "RCF", 3);                  /* and the start of a sixth */
	for (int i = 1; i <= 5; i++) {
		ck_assert_int_eq(frame_read(b, MAX, &h, &msg, &why), FRAME_OK);
		ck_assert_uint_eq(h.request_id, (uint32_t)i);
		snprintf(name, sizeof name, "f%d", i);
		ck_assert_str_eq(((Rcfs__FileStat *)msg)->name, name);
		protobuf_c_message_free_unpacked(msg, NULL);
	}
	ck_assert_int_eq(frame_read(b, MAX, &h, &msg, &why), FRAME_NEED_MORE);
	evbuffer_free(b);
}
END_TEST

static enum frame_status
read_raw(const uint8_t *raw, size_t len, const char **why)
{
	struct evbuffer *b = evbuffer_new();
	struct frame_header h;
	ProtobufCMessage *msg = NULL;
	enum frame_status fs;

	evbuffer_add(b, raw, len);
	fs = frame_read(b, MAX, &h, &msg, why);
	if (fs == FRAME_BAD)
		ck_assert_uint_eq(evbuffer_get_length(b), len);   /* left as it was */
	if (fs == FRAME_OK)
		protobuf_c_message_free_unpacked(msg, NULL);
	evbuffer_free(b);
	return fs;
}

START_TEST(bad_magic)
{
	uint8_t raw[FRAME_HEADER_LEN] = "XXXX";
	const char *why = NULL;

	ck_assert_int_eq(read_raw(raw, sizeof raw, &why), FRAME_BAD);
	ck_assert_str_eq(why, "bad magic");
}
END_TEST

START_TEST(bad_version)
{
	uint8_t raw[FRAME_HEADER_LEN] = { 'R', 'C', 'F', 'S', 99, RCFS__MSG_TYPE__MSG_STATUS };
	const char *why = NULL;

	ck_assert_int_eq(read_raw(raw, sizeof raw, &why), FRAME_BAD);
	ck_assert_str_eq(why, "unsupported protocol version");
}
END_TEST

START_TEST(unknown_type)
{
	uint8_t raw[FRAME_HEADER_LEN] = { 'R', 'C', 'F', 'S', FRAME_VERSION, 200 };
	const char *why = NULL;

	ck_assert_int_eq(read_raw(raw, sizeof raw, &why), FRAME_BAD);
	ck_assert_str_eq(why, "unknown message type");
}
END_TEST

/* An enormous length is refused from the header alone: nothing is buffered
 * or allocated for it. */
START_TEST(length_above_max)
{
	uint8_t raw[FRAME_HEADER_LEN] = { 'R', 'C', 'F', 'S', FRAME_VERSION,
	    RCFS__MSG_TYPE__MSG_CHUNK_PUT, 0, 0, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff };
	const char *why = NULL;

	ck_assert_int_eq(read_raw(raw, sizeof raw, &why), FRAME_BAD);
	ck_assert_str_eq(why, "payload length above the maximum frame size");
	raw[12] = 0; raw[13] = 0; raw[14] = 0x10; raw[15] = 0x01;   /* MAX + 1 */
	ck_assert_int_eq(read_raw(raw, sizeof raw, &why), FRAME_BAD);
}
END_TEST

START_TEST(undecodable_payload)
{
	uint8_t raw[FRAME_HEADER_LEN + 4] = { 'R', 'C', 'F', 'S', FRAME_VERSION,
	    RCFS__MSG_TYPE__MSG_FILE_STAT, 0, 0, 0, 0, 0, 1, 0, 0, 0, 4, 0xff, 0xff, 0xff, 0xff };
	const char *why = NULL;

	ck_assert_int_eq(read_raw(raw, sizeof raw, &why), FRAME_BAD);
	ck_assert_str_eq(why, "undecodable payload");
}
END_TEST

/* A required field missing is undecodable too (proto2 required). */
START_TEST(missing_required)
{
	uint8_t raw[FRAME_HEADER_LEN] = { 'R', 'C', 'F', 'S', FRAME_VERSION,
	    RCFS__MSG_TYPE__MSG_FILE_STAT, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0 };
	const char *why = NULL;

	ck_assert_int_eq(read_raw(raw, sizeof raw, &why), FRAME_BAD);
}
END_TEST

START_TEST(random_bytes_never_crash)
{
	uint8_t raw[64];
	const char *why;

	srand(1);
	for (int i = 0; i < 20000; i++) {
		for (size_t k = 0; k < sizeof raw; k++)
			raw[k] = (uint8_t)rand();
		if (i % 2)
			memcpy(raw, "RCFS\x01", 5);   /* get past the magic half the time */
		raw[12] = raw[13] = 0;
		(void)read_raw(raw, (size_t)(rand() % (int)sizeof raw), &why);
	}
}
END_TEST

START_TEST(type_names)
{
	ck_assert_str_eq(frame_type_name(RCFS__MSG_TYPE__MSG_FILE_COMMIT), "FileCommit");
	ck_assert_str_eq(frame_type_name(250), "?");
	ck_assert_ptr_null(frame_descriptor(250));
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("frame");
	TCase *tc = tcase_create("codec");

	tcase_add_test(tc, roundtrip);
	tcase_add_test(tc, empty_payload);
	tcase_add_test(tc, split_frame);
	tcase_add_test(tc, several_frames);
	tcase_add_test(tc, bad_magic);
	tcase_add_test(tc, bad_version);
	tcase_add_test(tc, unknown_type);
	tcase_add_test(tc, length_above_max);
	tcase_add_test(tc, undecodable_payload);
	tcase_add_test(tc, missing_required);
	tcase_add_test(tc, random_bytes_never_crash);
	tcase_add_test(tc, type_names);
	suite_add_tcase(s, tc);
	return check_run(s);
}
