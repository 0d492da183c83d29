/* Unit tests: metrics registry, text exposition, JSON writer. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "http/json.h"
#include "rcfs.pb-c.h"
#include "unit/check_main.h"
#include "node/metrics.h"
#include "util/metrics.h"

/* The buffer's contents as a string (freed by the next call). */
static char *
text(struct evbuffer *b)
{
	static char *s;
	size_t n = evbuffer_get_length(b);

	free(s);
	s = malloc(n + 1);
	evbuffer_copyout(b, s, n);
	s[n] = '\0';
	return s;
}

static char *
render(struct metrics *reg)
{
	struct evbuffer *b = evbuffer_new();
	char *s;

	metrics_render(reg, b);
	s = text(b);
	evbuffer_free(b);
	return s;
}

START_TEST(counter_gauge_exact)
{
	struct metrics *reg = metrics_new();
	struct metrics_counter *ok, *err, *c;
	struct metrics_gauge *g;

	ok = metrics_counter(reg, "rcfs_client_requests_total", "Requests.", "op", "put", "result",
	    "ok", NULL);
	err = metrics_counter(reg, "rcfs_client_requests_total", "ignored", "op", "put", "result",
	    "error", NULL);
	g = metrics_gauge(reg, "rcfs_raft_term", "Current term.", NULL);
	ck_assert_ptr_nonnull(ok);
	ck_assert_ptr_nonnull(err);
	ck_assert_ptr_nonnull(g);
	/* Same name and labels: the same child. */
	c = metrics_counter(reg, "rcfs_client_requests_total", "x", "op", "put", "result", "ok", NULL);
	ck_assert_ptr_eq(c, ok);
	metrics_inc(ok);
	metrics_inc(ok);
	metrics_add(err, 40);
	metrics_inc(err);
	metrics_set(g, 7);
	metrics_gauge_add(g, 0.5);
	ck_assert_uint_eq(metrics_counter_value(ok), 2);
	ck_assert_str_eq(render(reg),
	    "# HELP rcfs_client_requests_total Requests.\n"
	    "# TYPE rcfs_client_requests_total counter\n"
	    "rcfs_client_requests_total{op=\"put\",result=\"ok\"} 2\n"
	    "rcfs_client_requests_total{op=\"put\",result=\"error\"} 41\n"
	    "# HELP rcfs_raft_term Current term.\n"
	    "# TYPE rcfs_raft_term gauge\n"
	    "rcfs_raft_term 7.5\n");
	metrics_free(reg);
}
END_TEST

START_TEST(escaping)
{
	struct metrics *reg = metrics_new();
	struct metrics_gauge *g;

	g = metrics_gauge(reg, "rcfs_x", "Back\\slash and\nnewline \"quoted\".", "path",
	    "a\\b\"c\nd", NULL);
	ck_assert_ptr_nonnull(g);
	metrics_set(g, -1);
	ck_assert_str_eq(render(reg),
	    "# HELP rcfs_x Back\\\\slash and\\nnewline \"quoted\".\n"
	    "# TYPE rcfs_x gauge\n"
	    "rcfs_x{path=\"a\\\\b\\\"c\\nd\"} -1\n");
	metrics_free(reg);
}
END_TEST

START_TEST(histogram_buckets)
{
	static const double bounds[] = { 0.01, 0.1, 1 };
	struct metrics *reg = metrics_new();
	struct metrics_histogram *h, *h2;

	h = metrics_histogram(reg, "rcfs_op_seconds", "Op time.", bounds, 3, "op", "get", NULL);
	ck_assert_ptr_nonnull(h);
	metrics_observe(h, 0.005);  /* first bucket */
	metrics_observe(h, 0.01);   /* le is inclusive: first bucket */
	metrics_observe(h, 0.5);
	metrics_observe(h, 3);      /* +Inf only */
	metrics_observe(h, NAN);    /* ignored */
	ck_assert_uint_eq(metrics_histogram_count(h), 4);
	ck_assert_str_eq(render(reg),
	    "# HELP rcfs_op_seconds Op time.\n"
	    "# TYPE rcfs_op_seconds histogram\n"
	    "rcfs_op_seconds_bucket{op=\"get\",le=\"0.01\"} 2\n"
	    "rcfs_op_seconds_bucket{op=\"get\",le=\"0.1\"} 2\n"
	    "rcfs_op_seconds_bucket{op=\"get\",le=\"1\"} 3\n"
	    "rcfs_op_seconds_bucket{op=\"get\",le=\"+Inf\"} 4\n"
	    "rcfs_op_seconds_sum{op=\"get\"} 3.515\n"
	    "rcfs_op_seconds_count{op=\"get\"} 4\n");
	metrics_free(reg);

	/* No labels: le alone; other bounds for the same family are refused. */
	reg = metrics_new();
	h = metrics_histogram(reg, "rcfs_h_seconds", "H.", bounds, 1, NULL);
	metrics_observe(h, 2);
	ck_assert_str_eq(render(reg),
	    "# HELP rcfs_h_seconds H.\n"
	    "# TYPE rcfs_h_seconds histogram\n"
	    "rcfs_h_seconds_bucket{le=\"0.01\"} 0\n"
	    "rcfs_h_seconds_bucket{le=\"+Inf\"} 1\n"
	    "rcfs_h_seconds_sum 2\n"
	    "rcfs_h_seconds_count 1\n");
	h2 = metrics_histogram(reg, "rcfs_h_seconds", "H.", bounds, 2, NULL);
	ck_assert_ptr_null(h2);
	metrics_free(reg);
}
END_TEST

START_TEST(histogram_many_buckets)
{
	struct metrics *reg = metrics_new();
	struct metrics_histogram *h = metrics_histogram(reg, "rcfs_l_seconds", "L.",
	    metrics_buckets_latency, metrics_buckets_latency_n, NULL);
	size_t i;

	/* Each bound exactly, and just above it. */
	for (i = 0; i < metrics_buckets_latency_n; i++) {
		metrics_observe(h, metrics_buckets_latency[i]);
		metrics_observe(h, metrics_buckets_latency[i] * 1.001);
	}
	ck_assert_uint_eq(metrics_histogram_count(h), 2 * metrics_buckets_latency_n);
	ck_assert_ptr_nonnull(strstr(render(reg), "rcfs_l_seconds_bucket{le=\"0.0001\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(render(reg), "rcfs_l_seconds_bucket{le=\"0.00025\"} 3\n"));
	ck_assert_ptr_nonnull(strstr(render(reg), "rcfs_l_seconds_bucket{le=\"10\"} 31\n"));
	ck_assert_ptr_nonnull(strstr(render(reg), "rcfs_l_seconds_bucket{le=\"+Inf\"} 32\n"));
	metrics_free(reg);
}
END_TEST

static bool
read_42(void *arg, double *v)
{
	(void)arg;
	*v = 42;
	return true;
}

static bool
read_none(void *arg, double *v)
{
	(void)arg;
	(void)v;
	return false;
}

START_TEST(callbacks)
{
	struct metrics *reg = metrics_new();

	ck_assert(metrics_gauge_fn(reg, "rcfs_raft_peer_lag_entries", "Lag.", read_42, NULL,
	    "peer", "2", NULL));
	ck_assert(metrics_gauge_fn(reg, "rcfs_raft_peer_lag_entries", "Lag.", read_none, NULL,
	    "peer", "3", NULL));
	ck_assert(metrics_counter_fn(reg, "rcfs_cb_total", "Cb.", read_42, NULL, NULL));
	/* A settable gauge cannot take over a callback child. */
	ck_assert_ptr_null(metrics_gauge(reg, "rcfs_raft_peer_lag_entries", "Lag.", "peer", "2",
	    NULL));
	ck_assert_str_eq(render(reg),
	    "# HELP rcfs_raft_peer_lag_entries Lag.\n"
	    "# TYPE rcfs_raft_peer_lag_entries gauge\n"
	    "rcfs_raft_peer_lag_entries{peer=\"2\"} 42\n"
	    "# HELP rcfs_cb_total Cb.\n"
	    "# TYPE rcfs_cb_total counter\n"
	    "rcfs_cb_total 42\n");
	metrics_free(reg);
}
END_TEST

START_TEST(invalid_registrations)
{
	struct metrics *reg = metrics_new();

	ck_assert_ptr_null(metrics_counter(reg, "9bad", "x", NULL));
	ck_assert_ptr_null(metrics_counter(reg, "bad-name", "x", NULL));
	ck_assert_ptr_null(metrics_counter(reg, "rcfs_a_total", "x", "bad-label", "v", NULL));
	ck_assert_ptr_null(metrics_counter(reg, "rcfs_a_total", "x", "__reserved", "v", NULL));
	ck_assert_ptr_null(metrics_counter(reg, "rcfs_a_total", "x", "a", "1", "a", "2", NULL));
	ck_assert_ptr_null(metrics_histogram(reg, "rcfs_b_seconds", "x", metrics_buckets_fast, 2,
	    "le", "1", NULL));
	ck_assert_ptr_nonnull(metrics_counter(reg, "rcfs_a_total", "x", "op", "get", NULL));
	/* Other type, other label names. */
	ck_assert_ptr_null(metrics_gauge(reg, "rcfs_a_total", "x", "op", "get", NULL));
	ck_assert_ptr_null(metrics_counter(reg, "rcfs_a_total", "x", "result", "ok", NULL));
	ck_assert_ptr_nonnull(metrics_counter(reg, "ns:rcfs_a_total", "colons ok", NULL));
	metrics_free(reg);
}
END_TEST

START_TEST(null_is_noop)
{
	metrics_inc(NULL);
	metrics_add(NULL, 3);
	metrics_set(NULL, 1);
	metrics_gauge_add(NULL, 1);
	metrics_observe(NULL, 1);
	metrics_observe_since(NULL, metrics_now());
	/* The global struct is all NULL before registration. */
	metrics_inc(rcfs_metrics.raft_elections_started);
	metrics_rcfs_set_role(&rcfs_metrics, "leader");
	metrics_rcfs_request(&rcfs_metrics, RCFS_OP_COMMIT, RCFS_RESULT_OK, metrics_now());
	ck_assert_uint_eq(metrics_counter_value(NULL), 0);
}
END_TEST

START_TEST(format_double)
{
	char buf[32];

	ck_assert_str_eq(metrics_format_double(buf, 0), "0");
	ck_assert_str_eq(metrics_format_double(buf, 0.1), "0.1");
	ck_assert_str_eq(metrics_format_double(buf, 1e-5), "1e-05");
	ck_assert_str_eq(metrics_format_double(buf, 123456789012), "123456789012");
	ck_assert_str_eq(metrics_format_double(buf, INFINITY), "+Inf");
	ck_assert_str_eq(metrics_format_double(buf, -INFINITY), "-Inf");
	ck_assert_str_eq(metrics_format_double(buf, NAN), "NaN");
	ck_assert_double_eq(strtod(metrics_format_double(buf, 0.1 + 0.2), NULL), 0.1 + 0.2);
}
END_TEST

static bool
peer_match(void *arg, double *v)
{
	*v = *(double *)arg;
	return true;
}

START_TEST(rcfs_register)
{
	struct metrics *reg = metrics_new();
	struct rcfs_metrics m;
	double match = 17;
	const char *s;

	ck_assert(metrics_rcfs_register(reg, &m, "2", "0.1.0"));
	ck_assert(metrics_rcfs_register_peer(reg, "3", peer_match, read_none, &match));
	metrics_set(m.raft_term, 5);
	metrics_rcfs_set_role(&m, "leader");
	metrics_rcfs_request(&m, RCFS_OP_CHUNK_PUT, RCFS_RESULT_UNAVAILABLE, metrics_now());
	metrics_observe(m.raft_append_latency, 0.003);
	metrics_add(m.net_bytes_sent, 1 << 20);
	s = render(reg);
	ck_assert_ptr_nonnull(strstr(s, "rcfs_node_info{node_id=\"2\",version=\"0.1.0\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(s, "\nrcfs_raft_term 5\n"));
	ck_assert_ptr_nonnull(strstr(s, "rcfs_raft_role{role=\"leader\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(s, "rcfs_raft_role{role=\"follower\"} 0\n"));
	ck_assert_ptr_nonnull(strstr(s,
	    "rcfs_client_requests_total{op=\"chunk_put\",result=\"unavailable\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(s,
	    "rcfs_client_request_duration_seconds_count{op=\"chunk_put\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(s,
	    "rcfs_raft_append_latency_seconds_bucket{le=\"0.005\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(s, "rcfs_net_bytes_sent_total 1048576\n"));
	ck_assert_ptr_nonnull(strstr(s, "rcfs_raft_peer_match_index{peer=\"3\"} 17\n"));
	ck_assert_ptr_null(strstr(s, "rcfs_raft_peer_lag_entries{"));
	ck_assert_ptr_nonnull(strstr(s, "# TYPE rcfs_raft_peer_lag_entries gauge\n"));
	ck_assert_ptr_nonnull(strstr(s, "\nprocess_resident_memory_bytes "));
	ck_assert_ptr_nonnull(strstr(s, "\nprocess_open_fds "));
	/* One HELP per family even with many children. */
	ck_assert_ptr_null(strstr(strstr(s, "# HELP rcfs_client_requests_total") + 1,
	    "# HELP rcfs_client_requests_total"));
	/* Registering twice is a clash-free no-op returning the same children. */
	{
		struct rcfs_metrics m2;

		ck_assert(metrics_rcfs_register(reg, &m2, "2", "0.1.0"));
		ck_assert_ptr_eq(m2.raft_term, m.raft_term);
	}
	metrics_free(reg);
}
END_TEST

/* The numeric tables in metrics.c against the generated protocol enums. */
START_TEST(wire_mapping)
{
	static const struct { unsigned msg; enum rcfs_metrics_op op; } ops[] = {
		{ RCFS__MSG_TYPE__MSG_STATUS, RCFS_OP_STATUS },
		{ RCFS__MSG_TYPE__MSG_CHUNK_PUT, RCFS_OP_CHUNK_PUT },
		{ RCFS__MSG_TYPE__MSG_CHUNK_GET, RCFS_OP_CHUNK_GET },
		{ RCFS__MSG_TYPE__MSG_FILE_COMMIT, RCFS_OP_COMMIT },
		{ RCFS__MSG_TYPE__MSG_FILE_STAT, RCFS_OP_STAT },
		{ RCFS__MSG_TYPE__MSG_FILE_LIST, RCFS_OP_LIST },
		{ RCFS__MSG_TYPE__MSG_FILE_REMOVE, RCFS_OP_REMOVE },
		{ RCFS__MSG_TYPE__MSG_RAFT, RCFS_OP_OTHER },
	};
	static const struct { unsigned code; enum rcfs_metrics_result r; } codes[] = {
		{ RCFS__ERROR_CODE__E_OK, RCFS_RESULT_OK },
		{ RCFS__ERROR_CODE__E_INTERNAL, RCFS_RESULT_ERROR },
		{ RCFS__ERROR_CODE__E_BAD_REQUEST, RCFS_RESULT_CLIENT_ERROR },
		{ RCFS__ERROR_CODE__E_NOT_FOUND, RCFS_RESULT_CLIENT_ERROR },
		{ RCFS__ERROR_CODE__E_UNAVAILABLE, RCFS_RESULT_UNAVAILABLE },
		{ RCFS__ERROR_CODE__E_NO_QUORUM, RCFS_RESULT_UNAVAILABLE },
		{ RCFS__ERROR_CODE__E_NOT_LEADER, RCFS_RESULT_UNAVAILABLE },
		{ RCFS__ERROR_CODE__E_INTEGRITY, RCFS_RESULT_ERROR },
		{ RCFS__ERROR_CODE__E_STORAGE_FULL, RCFS_RESULT_UNAVAILABLE },
		{ RCFS__ERROR_CODE__E_TIMEOUT, RCFS_RESULT_UNAVAILABLE },
		{ RCFS__ERROR_CODE__E_AUTH, RCFS_RESULT_CLIENT_ERROR },
		{ RCFS__ERROR_CODE__E_RATE_LIMITED, RCFS_RESULT_CLIENT_ERROR },
		{ RCFS__ERROR_CODE__E_TOO_LARGE, RCFS_RESULT_CLIENT_ERROR },
	};
	size_t i;

	for (i = 0; i < sizeof ops / sizeof ops[0]; i++)
		ck_assert_int_eq(rcfs_metrics_op_from_msg(ops[i].msg), ops[i].op);
	for (i = 0; i < sizeof codes / sizeof codes[0]; i++)
		ck_assert_int_eq(rcfs_metrics_result_from_code(codes[i].code), codes[i].r);
	ck_assert_int_eq(rcfs_metrics_op_from_msg(16), RCFS_OP_CHUNK_PUT);
	ck_assert_int_eq(rcfs_metrics_op_from_msg(26), RCFS_OP_REMOVE);
	ck_assert_int_eq(rcfs_metrics_op_from_msg(66), RCFS_OP_OTHER);
	ck_assert_int_eq(rcfs_metrics_result_from_code(0), RCFS_RESULT_OK);
	ck_assert_int_eq(rcfs_metrics_result_from_code(3), RCFS_RESULT_CLIENT_ERROR);
	ck_assert_int_eq(rcfs_metrics_result_from_code(6), RCFS_RESULT_UNAVAILABLE);
	ck_assert_int_eq(rcfs_metrics_result_from_code(7), RCFS_RESULT_ERROR);
	ck_assert_str_eq(rcfs_metrics_op_name(RCFS_OP_COMMIT), "commit");
	ck_assert_str_eq(rcfs_metrics_result_name(RCFS_RESULT_CLIENT_ERROR), "client_error");
}
END_TEST

START_TEST(json_writer)
{
	struct evbuffer *b = evbuffer_new();
	struct json_writer w;

	json_init(&w, b);
	json_object_begin(&w);
	json_kv_uint(&w, "id", 18446744073709551615ull);
	json_kv_int(&w, "neg", -3);
	json_kv_string(&w, "s", "q\"b\\n\nt\t\x01\x7f\xc3\xa9");
	json_kv_double(&w, "d", 0.25);
	json_kv_double(&w, "nan", NAN);
	json_kv_bool(&w, "t", true);
	json_kv_string(&w, "null", NULL);
	json_key(&w, "a");
	json_array_begin(&w);
	json_uint(&w, 1);
	json_object_begin(&w);
	json_object_end(&w);
	json_array_begin(&w);
	json_array_end(&w);
	json_bool(&w, false);
	json_array_end(&w);
	json_key(&w, "o");
	json_object_begin(&w);
	json_kv_null(&w, "x");
	json_object_end(&w);
	json_object_end(&w);
	ck_assert_str_eq(text(b),
	    "{\"id\":18446744073709551615,\"neg\":-3,"
	    "\"s\":\"q\\\"b\\\\n\\nt\\t\\u0001\\u007f\xc3\xa9\",\"d\":0.25,\"nan\":null,"
	    "\"t\":true,\"null\":null,\"a\":[1,{},[],false],\"o\":{\"x\":null}}");
	evbuffer_free(b);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("metrics");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, counter_gauge_exact);
	tcase_add_test(tc, escaping);
	tcase_add_test(tc, histogram_buckets);
	tcase_add_test(tc, histogram_many_buckets);
	tcase_add_test(tc, callbacks);
	tcase_add_test(tc, invalid_registrations);
	tcase_add_test(tc, null_is_noop);
	tcase_add_test(tc, format_double);
	tcase_add_test(tc, rcfs_register);
	tcase_add_test(tc, wire_mapping);
	tcase_add_test(tc, json_writer);
	suite_add_tcase(s, tc);
	return check_run(s);
}
