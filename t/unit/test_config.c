/* Unit tests: configuration loading and validation (src/util/config.c).
 * Every error must be one line naming the key and the problem. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/config.h"
#include "t/unit/check_main.h"

static char path[64];

static int
load(const char *text, struct rcfs_config *c, char *err, size_t errlen)
{
	FILE *f;

	strcpy(path, "/tmp/rcfs-test-conf.XXXXXX");
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	f = fdopen(fd, "w");
	fputs(text, f);
	fclose(f);
	int rv = config_load(c, path, err, errlen);
	unlink(path);
	return rv;
}

#define BASE "node_id = 1; listen = \"127.0.0.1:7000\"; redis = \"unix:/tmp/r.sock\"; auth = false;\n"

START_TEST(minimal_defaults)
{
	struct rcfs_config c;
	char err[512];

	ck_assert_int_eq(load(BASE, &c, err, sizeof err), 0);
	ck_assert_uint_eq(c.node_id, 1);
	ck_assert_uint_eq(c.chunk_size, 1u << 20);
	ck_assert_uint_eq(c.max_frame, (1u << 20) + 65536);
	ck_assert_uint_eq(c.replicas, 1);       /* single node */
	ck_assert_uint_eq(c.election_timeout_ms, 150);
	ck_assert(!c.allow_unsafe_storage);
	ck_assert(!c.bootstrap);                /* initial_cluster_state = "existing" */
	config_free(&c);
	ck_assert_int_eq(load(BASE "initial_cluster_state = \"new\";", &c, err, sizeof err), 0);
	ck_assert(c.bootstrap);
	config_free(&c);
	ck_assert_int_eq(load(BASE "initial_cluster_state = \"existing\";", &c, err, sizeof err), 0);
	ck_assert(!c.bootstrap);
	config_free(&c);
}
END_TEST

START_TEST(cluster)
{
	struct rcfs_config c;
	char err[512];

	ck_assert_int_eq(load(BASE "peers = ( { id = 1; address = \"127.0.0.1:7000\"; },"
	    " { id = 2; address = \"127.0.0.1:7001\"; }, { id = 3; address = \"[::1]:7002\"; } );",
	    &c, err, sizeof err), 0);
	ck_assert_uint_eq(c.npeers, 3);
	ck_assert_uint_eq(c.replicas, 3);
	ck_assert_uint_eq(c.write_quorum, 2);
	ck_assert_uint_eq(c.read_quorum, 2);
	config_free(&c);
}
END_TEST

static void
expect_error(const char *text, const char *needle)
{
	struct rcfs_config c;
	char err[512] = "";

	ck_assert_int_eq(load(text, &c, err, sizeof err), -1);
	ck_assert_msg(strstr(err, needle) != NULL, "error '%s' lacks '%s'", err, needle);
	ck_assert_msg(strchr(err, '\n') == NULL, "error is not one line: '%s'", err);
	config_free(&c);
}

START_TEST(errors)
{
	expect_error("", "key 'node_id': is required");
	expect_error("node_id = 0;", "key 'node_id': must be a positive integer");
	expect_error("node_id = \"x\";", "key 'node_id': must be an integer");
	expect_error("node_id = 1; redis = \"unix:/x\";", "key 'listen': is required");
	expect_error("node_id = 1; listen = \"nowhere\"; redis = \"unix:/x\";", "key 'listen': 'nowhere' is not host:port");
	expect_error("node_id = 1; listen = \"h:1\";", "key 'redis': is required");
	expect_error(BASE "chunk_size = 100;", "key 'chunk_size': 100 is out of range");
	expect_error(BASE "chunk_size = 10485760;", "key 'chunk_size'");
	expect_error(BASE "max_frame = 1048576;", "key 'max_frame': 1048576 is below chunk_size + 4096");
	expect_error(BASE "chunk_siz = 1;", "key 'chunk_siz': unknown key");
	expect_error(BASE "allow_unsafe_storage = 1;", "key 'allow_unsafe_storage': must be true or false");
	expect_error(BASE "log_level = \"loud\";", "key 'log_level'");
	expect_error(BASE "initial_cluster_state = \"old\";",
	    "key 'initial_cluster_state': must be \"new\" or \"existing\"");
	expect_error(BASE "initial_cluster_state = true;", "key 'initial_cluster_state'");
	expect_error(BASE "heartbeat_ms = 500;", "key 'heartbeat_ms': 500 must be below election_timeout_ms");
	expect_error(BASE "node_id = 2;", "syntax error");   /* duplicate setting */
	expect_error(BASE "peers = ( { id = 2; address = \"h:1\"; } );", "key 'peers': must include this node");
	expect_error(BASE "peers = ( { id = 1; address = \"h:1\"; }, { id = 1; address = \"h:2\"; } );", "appears twice");
	expect_error(BASE "peers = ( { id = 1; } );", "member 1 needs id");
	expect_error(BASE "replicas = 2;", "key 'replicas': 2 is more than the 1 cluster members");
	expect_error(BASE "peers = ( { id = 1; address = \"h:1\"; }, { id = 2; address = \"h:2\"; },"
	    " { id = 3; address = \"h:3\"; } ); write_quorum = 1; read_quorum = 1;",
	    "write_quorum + read_quorum (2) must exceed replicas (3)");
	expect_error(BASE "peers = ( { id = 1; address = \"h:1\"; }, { id = 2; address = \"h:2\"; },"
	    " { id = 3; address = \"h:3\"; } ); write_quorum = 4;", "key 'write_quorum'");
	expect_error("node_id = 1;\nlisten = \"127.0.0.1:1\";\nredis = \"unix:/x\";\nchunk_size = 5;\n",
	    ":4: key 'chunk_size'");               /* names the line */
}
END_TEST

START_TEST(missing_file)
{
	struct rcfs_config c;
	char err[512];

	ck_assert_int_eq(config_load(&c, "/nonexistent/rcfsd.conf", err, sizeof err), -1);
	ck_assert_str_eq(err, "/nonexistent/rcfsd.conf: cannot read the file");
	config_free(&c);
}
END_TEST

START_TEST(hostport)
{
	char host[64];
	uint16_t port;

	ck_assert_int_eq(config_split_hostport("127.0.0.1:80", host, sizeof host, &port), 0);
	ck_assert_str_eq(host, "127.0.0.1");
	ck_assert_uint_eq(port, 80);
	ck_assert_int_eq(config_split_hostport("[::1]:9", host, sizeof host, &port), 0);
	ck_assert_str_eq(host, "::1");
	ck_assert_int_eq(config_split_hostport("h:", host, sizeof host, &port), -1);
	ck_assert_int_eq(config_split_hostport(":1", host, sizeof host, &port), -1);
	ck_assert_int_eq(config_split_hostport("h:70000", host, sizeof host, &port), -1);
	ck_assert_int_eq(config_split_hostport("h:1x", host, sizeof host, &port), -1);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("load");

	tcase_add_test(tc, minimal_defaults);
	tcase_add_test(tc, cluster);
	tcase_add_test(tc, errors);
	tcase_add_test(tc, missing_file);
	tcase_add_test(tc, hostport);
	suite_add_tcase(s, tc);
	return check_run(s);
}
