/* hostile: a misbehaving client for the t/security/ tests.  It talks to one node and
 * reports how the node reacted, one word on stdout:
 *   closed        the node closed the connection
 *   error CODE    the node answered with an Error frame (CODE: Rcfs__ErrorCode)
 *   open          neither happened before the deadline
 *   ok            (burst) counts follow: "ok N limited M"
 *
 * usage: hostile HOST:PORT [-k KEYFILE] [-t SECONDS] MODE [ARG]
 * modes without a key: truncated, hugelen, badmagic, badversion, unknowntype,
 *   random, slowloris, silent, raft-noauth, flood N SECONDS
 * modes with a key (-k): badmac, replay, raft-client, burst N, ok
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <sodium.h>

#include "net/auth.h"
#include "net/frame.h"
#include "util/config.h"

static const char *hostile_addr;
static int hostile_timeout_ms = 5000;

static uint64_t now_ms(void);
static int dial(bool nonblock);
static int send_all(int fd, const void *p, size_t n);
static int send_buf(int fd, struct evbuffer *b);
static const char *await(int fd, struct frame_seal *rx, struct frame_header *h, int timeout_ms);
static int handshake(int fd, const uint8_t *verifier, const char *id, struct frame_seal *tx,
    struct frame_seal *rx);
static int mode_flood(int n, int seconds);

static char await_word[64];

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int
dial(bool nonblock)
{
	char host[256], port[8];
	uint16_t p;
	struct addrinfo hints, *ai = NULL;
	int fd, one = 1;

	if (config_split_hostport(hostile_addr, host, sizeof host, &p) != 0)
		return -1;
	snprintf(port, sizeof port, "%u", p);
	memset(&hints, 0, sizeof hints);
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, port, &hints, &ai) != 0)
		return -1;
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0), 0);
	if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno != EINPROGRESS) {
		close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	if (fd >= 0)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	return fd;
}

static int
send_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n > 0) {
		ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

static int
send_buf(int fd, struct evbuffer *b)
{
	size_t n = evbuffer_get_length(b);
	int rv = send_all(fd, evbuffer_pullup(b, (ev_ssize_t)n), n);

	evbuffer_drain(b, n);
	return rv;
}

/* Wait for the node's reaction: a frame (returns "frame", *h set) or
 * "closed" / "open" / "bad".  Error frames return "error" with the code in
 * await_word. */
static struct evbuffer *await_in;

static const char *
await(int fd, struct frame_seal *rx, struct frame_header *h, int timeout_ms)
{
	uint64_t deadline = now_ms() + (uint64_t)timeout_ms;

	if (await_in == NULL)
		await_in = evbuffer_new();
	for (;;) {
		ProtobufCMessage *msg = NULL;
		const char *why;
		enum frame_status fs = frame_read_sealed(await_in, 1 << 24, rx, h, &msg, &why);
		struct pollfd pfd = { fd, POLLIN, 0 };
		uint64_t now = now_ms();
		int n;

		if (fs == FRAME_BAD)
			return "bad";
		if (fs == FRAME_OK) {
			if (h->type == RCFS__MSG_TYPE__MSG_ERROR) {
				snprintf(await_word, sizeof await_word, "error %d",
				    ((Rcfs__Error *)msg)->code);
				protobuf_c_message_free_unpacked(msg, NULL);
				return await_word;
			}
			protobuf_c_message_free_unpacked(msg, NULL);
			return "frame";
		}
		if (now >= deadline)
			return "open";
		if (poll(&pfd, 1, (int)(deadline - now)) <= 0)
			continue;
		n = evbuffer_read(await_in, fd, 65536);
		if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
			return "closed";
	}
}

static int
handshake(int fd, const uint8_t *verifier, const char *id, struct frame_seal *tx,
    struct frame_seal *rx)
{
	struct auth_hs hs;
	struct evbuffer *out = evbuffer_new();
	int rv = -1;

	auth_dial_start(&hs, verifier, false, 0, id, false, out);
	if (await_in == NULL)
		await_in = evbuffer_new();
	for (;;) {
		struct frame_header h;
		ProtobufCMessage *msg = NULL;
		const char *why;
		enum frame_status fs;

		if (send_buf(fd, out) != 0)
			break;
		fs = frame_read(await_in, 1 << 16, &h, &msg, &why);
		if (fs == FRAME_BAD)
			break;
		if (fs == FRAME_NEED_MORE) {
			struct pollfd pfd = { fd, POLLIN, 0 };
			if (poll(&pfd, 1, hostile_timeout_ms) <= 0 || evbuffer_read(await_in, fd, 65536) <= 0)
				break;
			continue;
		}
		enum auth_step st = auth_step(&hs, &h, msg, out, &why);
		protobuf_c_message_free_unpacked(msg, NULL);
		if (st == AUTH_STEP_FAIL) {
			fprintf(stderr, "hostile: handshake: %s\n", why);
			break;
		}
		if (st == AUTH_STEP_DONE) {
			*tx = hs.tx;
			*rx = hs.rx;
			rv = 0;
			break;
		}
	}
	evbuffer_free(out);
	return rv;
}

/* Keep up to n connections open (reopening those the node closes) for
 * `seconds`; report how many the node closed. */
static int
mode_flood(int n, int seconds)
{
	int *fds = calloc((size_t)n, sizeof *fds);
	uint64_t end = now_ms() + (uint64_t)seconds * 1000;
	unsigned long opened = 0, closed = 0;

	for (int i = 0; i < n; i++)
		fds[i] = -1;
	while (now_ms() < end) {
		for (int i = 0; i < n; i++) {
			char b[256];
			if (fds[i] >= 0) {
				ssize_t r = recv(fds[i], b, sizeof b, MSG_DONTWAIT);
				if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
					close(fds[i]);
					fds[i] = -1;
					closed++;
				}
			}
			if (fds[i] < 0 && (fds[i] = dial(true)) >= 0)
				opened++;
		}
		usleep(20000);
	}
	for (int i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(fds);
	printf("flood opened %lu closed %lu\n", opened, closed);
	return 0;
}

int
main(int argc, char **argv)
{
	const char *key_file = NULL, *mode;
	uint8_t key[AUTH_KEY_LEN], verifier[AUTH_KEY_LEN];
	char id[AUTH_KEY_ID_LEN + 1], err[256];
	struct frame_seal tx, rx;
	struct frame_header h;
	struct evbuffer *b;
	uint8_t raw[FRAME_HEADER_LEN + 64];
	int ch, fd;

	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((ch = getopt(argc, argv, "k:t:")) != -1) {
		switch (ch) {
		case 'k': key_file = optarg; break;
		case 't': hostile_timeout_ms = atoi(optarg) * 1000; break;
		default: return 2;
		}
	}
	if (argc - optind < 2 || sodium_init() < 0) {
		fprintf(stderr, "usage: hostile HOST:PORT [-k KEYFILE] [-t SEC] MODE [ARG]\n");
		return 2;
	}
	hostile_addr = argv[optind];
	mode = argv[optind + 1];
	if (strcmp(mode, "flood") == 0)
		return mode_flood(argc - optind > 2 ? atoi(argv[optind + 2]) : 100,
		    argc - optind > 3 ? atoi(argv[optind + 3]) : 5);
	if ((fd = dial(false)) < 0) {
		printf("unreachable\n");
		return 1;
	}
	b = evbuffer_new();
	if (key_file != NULL) {
		if (auth_key_load(key_file, key, err, sizeof err) != 0) {
			fprintf(stderr, "hostile: %s\n", err);
			return 2;
		}
		auth_verifier(key, verifier);
		auth_key_id(verifier, id);
		if (handshake(fd, verifier, id, &tx, &rx) != 0) {
			printf("handshake-failed\n");
			return 1;
		}
	}

	if (strcmp(mode, "ok") == 0) {
		Rcfs__StatusRequest s = RCFS__STATUS_REQUEST__INIT;
		frame_write_sealed(b, key_file ? &tx : NULL, RCFS__MSG_TYPE__MSG_STATUS, 0, 1, &s.base);
		send_buf(fd, b);
		printf("%s\n", await(fd, key_file ? &rx : NULL, &h, hostile_timeout_ms));
	} else if (strcmp(mode, "burst") == 0) {
		int n = argc - optind > 2 ? atoi(argv[optind + 2]) : 20, okn = 0, limited = 0;
		Rcfs__StatusRequest s = RCFS__STATUS_REQUEST__INIT;
		for (int i = 0; i < n; i++) {
			frame_write_sealed(b, &tx, RCFS__MSG_TYPE__MSG_STATUS, 0, (uint32_t)i + 1, &s.base);
			send_buf(fd, b);
			const char *r = await(fd, &rx, &h, hostile_timeout_ms);
			if (strcmp(r, "frame") == 0)
				okn++;
			else if (strcmp(r, "error 11") == 0)
				limited++;
			else
				break;
		}
		printf("ok %d limited %d\n", okn, limited);
	} else if (strcmp(mode, "badmac") == 0 || strcmp(mode, "replay") == 0) {
		Rcfs__StatusRequest l = RCFS__STATUS_REQUEST__INIT;
		size_t len;
		uint8_t *p;
		/* One good request first (Status: served by any node): the session works. */
		frame_write_sealed(b, &tx, RCFS__MSG_TYPE__MSG_STATUS, 0, 1, &l.base);
		len = evbuffer_get_length(b);
		p = malloc(len);
		evbuffer_copyout(b, p, len);
		send_buf(fd, b);
		if (strcmp(await(fd, &rx, &h, hostile_timeout_ms), "frame") != 0) {
			printf("no-answer\n");
			free(p);
			evbuffer_free(b);
			return 1;
		}
		if (strcmp(mode, "badmac") == 0) {
			/* A fresh frame with one bit of its tag flipped. */
			frame_write_sealed(b, &tx, RCFS__MSG_TYPE__MSG_STATUS, 0, 2, &l.base);
			len = evbuffer_get_length(b);
			free(p);
			p = malloc(len);
			evbuffer_remove(b, p, len);
			p[len - 1] ^= 1;
		}
		/* replay: the first frame again, byte for byte. */
		send_all(fd, p, len);
		free(p);
		printf("%s\n", await(fd, &rx, &h, hostile_timeout_ms));
	} else if (strcmp(mode, "raft-noauth") == 0 || strcmp(mode, "raft-client") == 0) {
		/* Claim to be node 2 and ask for a vote at an absurd term. */
		Rcfs__PeerHello hello = RCFS__PEER_HELLO__INIT;
		Rcfs__RaftMessage m = RCFS__RAFT_MESSAGE__INIT;
		struct frame_seal *t = key_file ? &tx : NULL;
		hello.node_id = 2;
		hello.cluster = "rcfs";
		m.type = 3;             /* any request type: it must never reach Raft */
		m.from = 2;
		m.to = 1;
		m.term = 1000000;
		frame_write_sealed(b, t, RCFS__MSG_TYPE__MSG_PEER_HELLO, 0, 1, &hello.base);
		frame_write_sealed(b, t, RCFS__MSG_TYPE__MSG_RAFT, 0, 2, &m.base);
		send_buf(fd, b);
		printf("%s\n", await(fd, key_file ? &rx : NULL, &h, hostile_timeout_ms));
	} else if (strcmp(mode, "silent") == 0) {
		printf("%s\n", await(fd, NULL, &h, hostile_timeout_ms));
	} else if (strcmp(mode, "slowloris") == 0) {
		/* A header promising 1000 bytes, then one byte every 200 ms. */
		struct frame_header fh = { FRAME_VERSION, RCFS__MSG_TYPE__MSG_FILE_LIST, 0, 1, 1000 };
		uint64_t end = now_ms() + (uint64_t)hostile_timeout_ms;
		const char *r = "open";
		frame_header_encode(raw, &fh);
		send_all(fd, raw, FRAME_HEADER_LEN);
		while (now_ms() < end) {
			if (send_all(fd, "x", 1) != 0) {
				r = "closed";
				break;
			}
			r = await(fd, NULL, &h, 200);
			if (strcmp(r, "open") != 0)
				break;
		}
		printf("%s\n", r);
	} else {
		/* Malformed frames, without a session. */
		struct frame_header fh = { FRAME_VERSION, RCFS__MSG_TYPE__MSG_STATUS, 0, 1, 0 };
		size_t n = FRAME_HEADER_LEN;
		if (strcmp(mode, "truncated") == 0) {
			/* A header promising 100 bytes, 10 sent, then half-close. */
			fh.length = 100;
			frame_header_encode(raw, &fh);
			memset(raw + FRAME_HEADER_LEN, 0x0a, 10);
			n += 10;
		} else if (strcmp(mode, "hugelen") == 0) {
			fh.length = 0xfffffff0u;
			frame_header_encode(raw, &fh);
		} else if (strcmp(mode, "badmagic") == 0) {
			frame_header_encode(raw, &fh);
			memcpy(raw, "HTTP", 4);
		} else if (strcmp(mode, "badversion") == 0) {
			fh.version = 99;
			frame_header_encode(raw, &fh);
		} else if (strcmp(mode, "unknowntype") == 0) {
			fh.type = 250;
			frame_header_encode(raw, &fh);
		} else if (strcmp(mode, "random") == 0) {
			randombytes_buf(raw, sizeof raw);
			n = sizeof raw;
		} else {
			fprintf(stderr, "hostile: unknown mode %s\n", mode);
			return 2;
		}
		send_all(fd, raw, n);
		if (strcmp(mode, "truncated") == 0)
			shutdown(fd, SHUT_WR);
		printf("%s\n", await(fd, NULL, &h, hostile_timeout_ms));
	}
	evbuffer_free(b);
	if (await_in != NULL)
		evbuffer_free(await_in);
	close(fd);
	return 0;
}
