/* Shared by the unit tests that need a real redis-server (test_store,
 * test_fsm): one started on a unix socket in a private directory, killed by
 * PID, and an event loop run until a flag is set or a deadline passes.
 * Include after check_main.h; call harness_init() once from main(). */
#ifndef RCFS_T_REDIS_HARNESS_H
#define RCFS_T_REDIS_HARNESS_H

#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "store/store.h"

static char dir[] = "/tmp/rcfs-test-redis.XXXXXX";
static char sock[200], addr[220];
static pid_t redis_pid = -1;

static void
redis_start(void)
{
	char sockarg[220], dirarg[220];
	struct stat sb;

	snprintf(sockarg, sizeof sockarg, "%s", sock);
	snprintf(dirarg, sizeof dirarg, "%s", dir);
	unlink(sock);
	pid_t parent = getpid();

	redis_pid = fork();
	ck_assert_int_ge(redis_pid, 0);
	if (redis_pid == 0) {
		int fd = open("/dev/null", O_WRONLY);
		/* Dies with the test even when the test is killed or aborts
		 * (a sanitizer report) before its teardown runs. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);     /* the test died before the prctl */
		dup2(fd, 1);
		execlp("redis-server", "redis-server", "--port", "0", "--unixsocket", sockarg,
		    "--dir", dirarg, "--save", "", "--appendonly", "no", (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 500 && stat(sock, &sb) != 0; i++)
		usleep(10000);
	ck_assert_msg(stat(sock, &sb) == 0, "redis-server did not create %s", sock);
}

static void
redis_kill(void)
{
	if (redis_pid > 0) {
		kill(redis_pid, SIGKILL);
		waitpid(redis_pid, NULL, 0);
		redis_pid = -1;
	}
}

static double
now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Runs the loop until *flag is set or `seconds` pass; returns *flag. */
static bool
loop_until(struct event_base *base, const bool *flag, double seconds)
{
	double end = now_s() + seconds;

	while (!*flag && now_s() < end) {
		struct timeval tv = { 0, 10000 };
		event_base_loopexit(base, &tv);
		event_base_dispatch(base);
	}
	return *flag;
}

static void
up_cb(struct store *st, bool up, const char *why, void *arg)
{
	(void)st; (void)why;
	*(bool *)arg = up;
}

static struct store *
store_up(struct event_base *base, bool *up)
{
	struct store *st = store_new(base, addr, 10000, 4, true);

	*up = false;
	store_set_state_cb(st, up_cb, up);
	store_start(st);
	ck_assert_msg(loop_until(base, up, 10), "store did not come up");
	return st;
}

/* 0: ready; 1: mkdtemp failed; 2: redis-server is not installed (skip). */
static int
harness_init(void)
{
	signal(SIGPIPE, SIG_IGN);
	if (system("command -v redis-server >/dev/null 2>&1") != 0)
		return 2;
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(sock, sizeof sock, "%s/redis.sock", dir);
	snprintf(addr, sizeof addr, "unix:%s", sock);
	return 0;
}

static void
harness_done(void)
{
	redis_kill();
	unlink(sock);
	rmdir(dir);
}

#endif
