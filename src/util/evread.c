/* Reading a socket into an evbuffer in larger pieces than libevent 2.1 does. */
#include <errno.h>
#include <sys/ioctl.h>
#include <sys/uio.h>

#include <event2/buffer.h>

#include "util/evread.h"

int
evread(struct evbuffer *in, int fd, size_t max)
{
	struct evbuffer_iovec v[2];
	struct iovec iov[2];
	size_t want = 4096, left;
	int ready = 0, n;
	ssize_t got;

	if (ioctl(fd, FIONREAD, &ready) == 0 && ready > 4096)
		want = (size_t)ready;
	if (want > max)
		want = max;
	n = evbuffer_reserve_space(in, (ev_ssize_t)want, v, 2);
	if (n <= 0) {
		errno = ENOMEM;
		return -1;
	}
	left = want;
	for (int i = 0; i < n; i++) {
		iov[i].iov_base = v[i].iov_base;
		iov[i].iov_len = v[i].iov_len < left ? v[i].iov_len : left;
		left -= iov[i].iov_len;
	}
	got = readv(fd, iov, n);
	if (got <= 0) {
		int e = errno;
		evbuffer_commit_space(in, v, 0);
		errno = e;
		return (int)got;
	}
	left = (size_t)got;
	for (int i = 0; i < n; i++) {
		v[i].iov_len = iov[i].iov_len < left ? iov[i].iov_len : left;
		left -= v[i].iov_len;
	}
	evbuffer_commit_space(in, v, n == 2 && v[1].iov_len > 0 ? 2 : 1);
	return (int)got;
}
