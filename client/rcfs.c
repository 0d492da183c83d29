/* rcfs: command-line client.  Global options, node list resolution, and the
 * command table (tmux style: client/cmd-*.c). */
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <libconfig.h>
#include <event2/buffer.h>
#include <sodium.h>

#include "client/client.h"
#include "util/config.h"
#include "util/xmalloc.h"

static const struct client_cmd *const rcfs_cmds[] = {
	&cmd_put_entry, &cmd_get_entry, &cmd_ls_entry, &cmd_rm_entry, &cmd_stat_entry,
	&cmd_member_entry, &cmd_snapshot_entry, &cmd_health_entry, &cmd_cat_entry, &cmd_cp_entry, &cmd_mv_entry,
	&cmd_du_entry, &cmd_gc_entry,
	&cmd_status_entry, NULL
};

/* What a client config file sets; NULL or -1 where it says nothing. */
struct rcfs_conf {
	char *nodes;
	char *key_file;                 /* relative paths made relative to the file's directory */
	int timeout_ms;
	int encrypt;
};

static void rcfs_usage(FILE *f);
static int rcfs_add_nodes(struct client *cl, const char *list);
static const struct client_cmd *rcfs_find_cmd(const char *name);
static int rcfs_load_conf(const char *path, struct rcfs_conf *rc);
static const char *rcfs_pick(const char *opt, const char *env, const char *conf);
static int rcfs_parse_timeout(const char *arg, int *ms);

static void
rcfs_usage(FILE *f)
{
	fprintf(f, "usage: rcfs [-n HOST:PORT[,...]] [-c FILE] [-k KEYFILE] [--encrypt] [--json] "
	    "[--timeout SEC] [-q] [-v] [--serializable] COMMAND ...\n\ncommands:\n");
	for (int i = 0; rcfs_cmds[i] != NULL; i++)
		fprintf(f, "  rcfs %s\n", rcfs_cmds[i]->usage);
	fprintf(f, "  rcfs keygen [--name NAME] [--role ROLE] FILE\n"
	    "  rcfs COMMAND --help    that command's usage\n"
	    "  rcfs --version\n");
	fprintf(f, "\nEach setting on its own: the option, else the environment, else the client\n"
	    "config (-c FILE, else $RCFS_CONF), else the default.\n"
	    "  nodes:    -n, $RCFS_NODES, nodes\n"
	    "  key:      -k/--key-file, $RCFS_KEY_FILE, key_file\n"
	    "  timeout:  --timeout, timeout, 30 s\n"
	    "  encrypt:  --encrypt, encrypt, off\n"
	    "exit codes: 0 ok, 1 error, 2 usage, 3 not found, 4 unavailable (no node, no quorum,\n"
	    "timeout), 5 integrity failure, 6 auth, 7 storage full, 8 local file error,\n"
	    "9 rate limited, 10 refused (a membership change or leadership move, or a restore\n"
	    "into a cluster that holds files).\n");
}

static int
rcfs_add_nodes(struct client *cl, const char *list)
{
	char *copy = xstrdup(list), *save = NULL, host[256];
	uint16_t port;

	for (char *t = strtok_r(copy, ", ", &save); t != NULL; t = strtok_r(NULL, ", ", &save)) {
		/* A malformed address is a usage error now, not a timeout later. */
		if (config_split_hostport(t, host, sizeof host, &port) != 0 || port == 0) {
			fprintf(stderr, "rcfs: node address '%s' is not HOST:PORT\n", t);
			free(copy);
			return -1;
		}
		if (cl->nnodes == CLIENT_MAX_NODES)
			break;
		cl->nodes[cl->nnodes++] = xstrdup(t);
	}
	free(copy);
	return 0;
}

static const struct client_cmd *
rcfs_find_cmd(const char *name)
{
	for (int i = 0; rcfs_cmds[i] != NULL; i++)
		if (strcmp(name, rcfs_cmds[i]->name) == 0)
			return rcfs_cmds[i];
	return NULL;
}

/* The first of option, environment, config value that is set (an empty
 * string is not). */
static const char *
rcfs_pick(const char *opt, const char *env, const char *conf)
{
	if (opt != NULL && opt[0] != '\0')
		return opt;
	if (env != NULL && env[0] != '\0')
		return env;
	if (conf != NULL && conf[0] != '\0')
		return conf;
	return NULL;
}

static int
rcfs_parse_timeout(const char *arg, int *ms)
{
	char *end;
	double s = strtod(arg, &end);

	if (end == arg || *end != '\0' || !(s > 0 && s <= 86400)) {
		fprintf(stderr, "rcfs: --timeout: '%s' is not a number of seconds\n", arg);
		return -1;
	}
	*ms = (int)(s * 1000) > 0 ? (int)(s * 1000) : 1;
	return 0;
}

/* Client config (libconfig): nodes = "h:p,h:p"; timeout = SEC;
 * key_file = "path" (relative: to the config's directory); encrypt = BOOL.
 * Fills rc with what the file sets; it decides nothing else: main() applies
 * each setting's own precedence. */
static int
rcfs_load_conf(const char *path, struct rcfs_conf *rc)
{
	config_t cf;
	const char *nodes, *kf;
	int timeout, enc;

	config_init(&cf);
	if (config_read_file(&cf, path) != CONFIG_TRUE) {
		if (config_error_type(&cf) == CONFIG_ERR_FILE_IO)
			fprintf(stderr, "rcfs: %s: cannot read the file\n", path);
		else
			fprintf(stderr, "rcfs: %s:%d: %s\n", path, config_error_line(&cf), config_error_text(&cf));
		config_destroy(&cf);
		return -1;
	}
	if (config_lookup_string(&cf, "nodes", &nodes) == CONFIG_TRUE)
		rc->nodes = xstrdup(nodes);
	if (config_lookup_int(&cf, "timeout", &timeout) == CONFIG_TRUE && timeout > 0)
		rc->timeout_ms = timeout > 86400 ? 86400 * 1000 : timeout * 1000;
	if (config_lookup_bool(&cf, "encrypt", &enc) == CONFIG_TRUE)
		rc->encrypt = enc;
	if (config_lookup_string(&cf, "key_file", &kf) == CONFIG_TRUE && kf[0] != '\0') {
		const char *slash = strrchr(path, '/');
		if (kf[0] == '/' || slash == NULL) {
			rc->key_file = xstrdup(kf);
		} else {
			size_t dl = (size_t)(slash - path) + 1;
			rc->key_file = xmalloc(dl + strlen(kf) + 1);
			memcpy(rc->key_file, path, dl);
			strcpy(rc->key_file + dl, kf);
		}
	}
	config_destroy(&cf);
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "nodes", required_argument, NULL, 'n' },
		{ "config", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "timeout", required_argument, NULL, 't' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "serializable", no_argument, NULL, 's' },
		{ "key-file", required_argument, NULL, 'k' },
		{ "encrypt", no_argument, NULL, 'E' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct client cl;
	struct rcfs_conf rc = { NULL, NULL, -1, -1 };
	const struct client_cmd *cmd;
	const char *conf = NULL, *nodes = NULL, *key_file = NULL;
	int ch, rv, timeout_ms = -1, encrypt = -1;

	memset(&cl, 0, sizeof cl);
	cl.fd = -1;
	cl.node = -1;
	cl.timeout_ms = 30000;
	xmalloc_keep_chunk_buffers();   /* get and put keep a window of chunks */
	/* Stop at the command name: its own options (ls -l, stat -v) follow it. */
	if (argc >= 2 && strcmp(argv[1], "keygen") == 0) {
		if (sodium_init() < 0)
			return EX_RCFS_ERROR;
		return keygen_main(argc - 1, argv + 1);
	}
	while ((ch = getopt_long(argc, argv, "+n:c:t:k:qvh", opts, NULL)) != -1) {
		switch (ch) {
		case 'n': nodes = optarg; break;
		case 'c': conf = optarg; break;
		case 'j': cl.json = true; break;
		case 't':
			if (rcfs_parse_timeout(optarg, &timeout_ms) != 0)
				return EX_RCFS_USAGE;
			break;
		case 'q': cl.quiet = true; break;
		case 'v': cl.verbose = true; break;
		case 's': cl.serializable = true; break;
		case 'k': key_file = optarg; break;
		case 'E': encrypt = 1; break;
		case 'h': rcfs_usage(stdout); return 0;
		case 'V': printf("rcfs %s\n", PACKAGE_VERSION); return 0;
		default: rcfs_usage(stderr); return EX_RCFS_USAGE;
		}
	}
	if (optind >= argc) {
		rcfs_usage(stderr);
		return EX_RCFS_USAGE;
	}
	if ((cmd = rcfs_find_cmd(argv[optind])) == NULL) {
		fprintf(stderr, "rcfs: unknown command '%s'\n", argv[optind]);
		rcfs_usage(stderr);
		return EX_RCFS_USAGE;
	}
	/* rcfs COMMAND --help: that command's usage, needing no node.  "--"
	 * ends the options: what follows is names, even "-h" or "-l". */
	for (int i = optind + 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strcmp(argv[i], "--help") == 0 || (strcmp(argv[i], "-h") == 0 && !cmd->h_option)) {
			printf("usage: rcfs %s\n", cmd->usage);
			return 0;
		}
	/* Global long options may also follow the command (rcfs ls --json). */
	{
		int k = optind + 1;
		cl.operands = -1;
		for (int i = optind + 1; i < argc; i++) {
			if (cl.operands >= 0) {
				argv[k++] = argv[i];
			} else if (strcmp(argv[i], "--") == 0) {
				cl.operands = k - optind - 1;   /* index in the command's argv */
			} else if (strcmp(argv[i], "--json") == 0) {
				cl.json = true;
			} else if (strcmp(argv[i], "--quiet") == 0 || strcmp(argv[i], "-q") == 0) {
				cl.quiet = true;
			} else if ((strcmp(argv[i], "--verbose") == 0 || strcmp(argv[i], "-v") == 0) &&
			    strcmp(cmd->name, "stat") != 0) {
				cl.verbose = true;      /* stat -v is stat's own option */
			} else if (strcmp(argv[i], "--serializable") == 0) {
				cl.serializable = true;
			} else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) {
				if (rcfs_parse_timeout(argv[++i], &timeout_ms) != 0)
					return EX_RCFS_USAGE;
			} else {
				argv[k++] = argv[i];
			}
		}
		argc = k;
		if (cl.operands < 0)
			cl.operands = argc - optind - 1;
	}
	/* Each setting takes its own precedence (etcdctl, git): option >
	 * environment > config file (-c, else $RCFS_CONF) > default.  The
	 * config file is read whenever one is named, so -n or $RCFS_NODES
	 * never lose its key_file, timeout or encrypt. */
	if (conf == NULL || conf[0] == '\0')
		conf = getenv("RCFS_CONF");
	if (conf != NULL && conf[0] != '\0' && rcfs_load_conf(conf, &rc) != 0) {
		rv = EX_RCFS_USAGE;
		goto out;
	}
	if ((nodes = rcfs_pick(nodes, getenv("RCFS_NODES"), rc.nodes)) != NULL &&
	    rcfs_add_nodes(&cl, nodes) != 0) {
		rv = EX_RCFS_USAGE;
		goto out;
	}
	cl.timeout_ms = timeout_ms > 0 ? timeout_ms : rc.timeout_ms > 0 ? rc.timeout_ms : 30000;
	cl.encrypt = encrypt >= 0 ? encrypt : rc.encrypt > 0;
	key_file = rcfs_pick(key_file, getenv("RCFS_KEY_FILE"), rc.key_file);
	/* `snapshot status FILE` reads a local file only. */
	if (cl.nnodes == 0 && !(cmd == &cmd_snapshot_entry && argc - optind >= 2 &&
	    strcmp(argv[optind + 1], "status") == 0)) {
		fprintf(stderr, "rcfs: no nodes: use -n HOST:PORT, RCFS_NODES or a client config (-c FILE)\n");
		rv = EX_RCFS_USAGE;
		goto out;
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "rcfs: libsodium failed to initialize\n");
		rv = EX_RCFS_ERROR;
		goto out;
	}
	if (key_file != NULL && (rv = client_load_key(&cl, key_file)) != 0)
		goto out;
	if (cl.encrypt && !cl.have_key) {
		fprintf(stderr, "rcfs: --encrypt needs a key (-k KEYFILE, $RCFS_KEY_FILE or key_file)\n");
		rv = EX_RCFS_USAGE;
		goto out;
	}
	randombytes_buf(&cl.client_id, sizeof cl.client_id);
	cl.client_id &= 0x7fffffffffffffffULL;
	signal(SIGPIPE, SIG_IGN);

	cl.op = cmd->name;
	rv = cmd->exec(&cl, argc - optind - 1, argv + optind + 1);
	client_disconnect(&cl);
out:
	if (cl.in)
		evbuffer_free(cl.in);
	for (int k = 0; k < cl.nnodes; k++)
		free(cl.nodes[k]);
	free(rc.nodes);
	free(rc.key_file);
	return rv;
}
