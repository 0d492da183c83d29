/* rcfs keygen: create a key file (a cluster key or an API key: the same
 * format, 32 random bytes as 64 hex digits, mode 0600) and print the line
 * nodes need for it as an API key.  docs/security.md explains both uses. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "client/client.h"

static void keygen_usage(FILE *f);
static void keygen_print_entry(const char *name, const char *role, const uint8_t *key);
static void keygen_print_s3(const uint8_t *key);

static void
keygen_usage(FILE *f)
{
	fprintf(f, "usage: rcfs keygen [--name NAME] [--role read-only|read-write|admin] FILE\n"
	    "       rcfs keygen --show [--name NAME] [--role ROLE] FILE\n"
	    "       rcfs keygen --show --s3 FILE\n"
	    "Writes a new key to FILE (mode 0600; refuses to overwrite) and prints the\n"
	    "client_keys entry that lets nodes accept it as an API key.  The same file\n"
	    "serves as a cluster key (cluster_key_file).  --show prints the entry for an\n"
	    "existing key file; with --s3, the key's S3 credentials for the gateway\n"
	    "(s3_listen) as AWS_ACCESS_KEY_ID=... and AWS_SECRET_ACCESS_KEY=... lines.\n");
}

/* The verifier, not the key, goes into node configs. */
static void
keygen_print_entry(const char *name, const char *role, const uint8_t *key)
{
	uint8_t v[AUTH_KEY_LEN];
	char hex[2 * AUTH_KEY_LEN + 1];

	auth_verifier(key, v);
	sodium_bin2hex(hex, sizeof hex, v, sizeof v);
	printf("{ name = \"%s\"; role = \"%s\"; verifier = \"%s\"; }\n", name, role, hex);
}

/* The key's S3 credentials (docs/security.md "S3"), as environment lines. */
static void
keygen_print_s3(const uint8_t *key)
{
	uint8_t v[AUTH_KEY_LEN];
	char id[AUTH_KEY_ID_LEN + 1], secret[AUTH_S3_SECRET_LEN + 1];

	auth_verifier(key, v);
	auth_key_id(v, id);
	auth_s3_secret(v, secret);
	printf("AWS_ACCESS_KEY_ID=%s\nAWS_SECRET_ACCESS_KEY=%s\n", id, secret);
	sodium_memzero(secret, sizeof secret);
	sodium_memzero(v, sizeof v);
}

int
keygen_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "name", required_argument, NULL, 'N' },
		{ "role", required_argument, NULL, 'r' },
		{ "show", no_argument, NULL, 's' },
		{ "s3", no_argument, NULL, '3' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *name = NULL, *role = "read-write", *path;
	uint8_t key[AUTH_KEY_LEN];
	char hex[2 * AUTH_KEY_LEN + 2], err[512];
	int ch, fd, show = 0, s3 = 0;
	char defname[80];

	optind = 1;
	while ((ch = getopt_long(argc, argv, "+N:r:sh", opts, NULL)) != -1) {
		switch (ch) {
		case 'N': name = optarg; break;
		case 'r': role = optarg; break;
		case 's': show = 1; break;
		case '3': s3 = 1; break;
		case 'h': keygen_usage(stdout); return EX_RCFS_OK;
		default: keygen_usage(stderr); return EX_RCFS_USAGE;
		}
	}
	if (optind != argc - 1 || (s3 && !show)) {
		keygen_usage(stderr);
		return EX_RCFS_USAGE;
	}
	path = argv[optind];
	if (auth_role_parse(role) == AUTH_ROLE_NONE || auth_role_parse(role) == AUTH_ROLE_PEER) {
		fprintf(stderr, "rcfs: keygen: role must be read-only, read-write or admin\n");
		return EX_RCFS_USAGE;
	}
	if (name == NULL) {
		/* Default name: the file's base name without ".key". */
		const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
		size_t n = strlen(base);
		if (n > 4 && strcmp(base + n - 4, ".key") == 0)
			n -= 4;
		snprintf(defname, sizeof defname, "%.*s", (int)(n < 64 ? n : 65), base);
		name = defname;
	}
	if (name[0] == '\0' || strlen(name) > 64 || strpbrk(name, "\"\\\n") != NULL) {
		fprintf(stderr, "rcfs: keygen: --name must be 1..64 bytes without quotes\n");
		return EX_RCFS_USAGE;
	}
	if (show) {
		if (auth_key_load(path, key, err, sizeof err) != 0) {
			fprintf(stderr, "rcfs: keygen: %s\n", err);
			return EX_RCFS_LOCAL;
		}
		if (s3)
			keygen_print_s3(key);
		else
			keygen_print_entry(name, role, key);
		sodium_memzero(key, sizeof key);
		return EX_RCFS_OK;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		fprintf(stderr, "rcfs: keygen: %s: %s\n", path, strerror(errno));
		return EX_RCFS_LOCAL;
	}
	randombytes_buf(key, sizeof key);
	sodium_bin2hex(hex, sizeof hex - 1, key, sizeof key);
	strcat(hex, "\n");
	if (write(fd, hex, strlen(hex)) != (ssize_t)strlen(hex) || fsync(fd) != 0 || close(fd) != 0) {
		fprintf(stderr, "rcfs: keygen: %s: %s\n", path, strerror(errno));
		unlink(path);
		return EX_RCFS_LOCAL;
	}
	keygen_print_entry(name, role, key);
	sodium_memzero(key, sizeof key);
	sodium_memzero(hex, sizeof hex);
	return EX_RCFS_OK;
}
