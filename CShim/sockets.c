/*
 * sockets.c: `maxSockets N`: at most N connected inet sockets at once; one
 * more connect fails with EMFILE. Descriptors holding a place are marked
 * in a bitmap (descriptors below 65536; those above are not counted), and
 * a place is freed by what really closes a descriptor: close(2), dup2(2) or
 * dup3 over it, close_range(2), closefrom(3). A copy (dup, F_DUPFD) keeps
 * the connection alive after the original is closed, so it takes a place
 * of its own. Lock-free: each step is one atomic operation.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <linux/close_range.h>
#include <stdatomic.h>

#include "sockets.h"
#include "verdict.h"

#define TRACKED SAFESOCK_SOCKETS_TRACKED

_Atomic uint64_t safesock_sockets_marked[TRACKED / 64];
_Atomic unsigned int safesock_sockets_held;

static int is_marked(int fd)
{
	return fd >= 0 && fd < TRACKED && (atomic_load(&safesock_sockets_marked[fd / 64]) >> (fd % 64)) & 1;
}

/* All places held: the denial, reported (its line and record are the
 * frame the usual case does not pay for). */
static __attribute__((noinline)) int refuse(uint32_t limit, const char *op, const char *host, const char *address,
					    int port)
{
	struct safesock_line reason = { .length = 0 };
	safesock_line_add(&reason, "maxSockets ");
	safesock_line_add_uint(&reason, limit);
	safesock_line_add(&reason, ": every place is held");
	reason.text[reason.length] = '\0';
	struct safesock_record record = { .op = op, .host = host, .address = address, .port = port, .reason = reason.text };
	if (safesock_deny(&record) == SAFESOCK_DENY) {
		errno = EMFILE;
		return -1;
	}
	atomic_fetch_add(&safesock_sockets_held, 1); /* learning: counted all the same */
	return 0;
}

int safesock_sockets_reserve_limited(uint32_t limit, const char *op, const char *host, const char *address, int port)
{
	unsigned int n = atomic_load(&safesock_sockets_held);
	while (n < limit)
		if (atomic_compare_exchange_weak(&safesock_sockets_held, &n, n + 1))
			return 0;
	return refuse(limit, op, host, address, port);
}

static inline __attribute__((always_inline)) void forget(int fd)
{
	if (fd < 0 || fd >= TRACKED)
		return;
	uint64_t bit = (uint64_t)1 << (fd % 64);
	if (atomic_fetch_and(&safesock_sockets_marked[fd / 64], ~bit) & bit)
		safesock_sockets_release();
}

/* A copy's outcome: the new descriptor holds the place reserved for it. */
static int copied(int result)
{
	if (result >= 0)
		safesock_sockets_hold(result);
	else
		safesock_sockets_release();
	return result;
}

/* close(2); the place is freed first, so that no other thread can reuse
 * the number while it still looks counted. */
SAFESOCK_EXPORT int close(int fd)
{
	if (!SAFESOCK_READY(close)) {
		errno = EBADF;
		return -1;
	}
	forget(fd);
	return safesock_real_close(fd);
}

/* dup(2) */
SAFESOCK_EXPORT int dup(int fd)
{
	if (!SAFESOCK_READY(dup)) {
		errno = EMFILE;
		return -1;
	}
	if (!is_marked(fd))
		return safesock_real_dup(fd);
	if (safesock_sockets_reserve(safesock_current_options().max_sockets, "dup", "", NULL, -1) != 0)
		return -1;
	return copied(safesock_real_dup(fd));
}

static int duplicate_onto(int fd, int to, int flags, int three)
{
	if (fcntl(fd, F_GETFD) < 0)
		return -1; /* EBADF: nothing is closed, nothing counted */
	if (fd == to && !three)
		return to;
	if (!is_marked(fd)) {
		forget(to);
		return three ? safesock_real_dup3(fd, to, flags) : safesock_real_dup2(fd, to);
	}
	/* A copy of a held socket onto a held descriptor: one place for one. */
	if (is_marked(to))
		return three ? safesock_real_dup3(fd, to, flags) : safesock_real_dup2(fd, to);
	if (safesock_sockets_reserve(safesock_current_options().max_sockets, "dup2", "", NULL, -1) != 0)
		return -1;
	return copied(three ? safesock_real_dup3(fd, to, flags) : safesock_real_dup2(fd, to));
}

/* dup2(2) */
SAFESOCK_EXPORT int dup2(int fd, int to)
{
	if (!SAFESOCK_READY(dup2)) {
		errno = EBADF;
		return -1;
	}
	return duplicate_onto(fd, to, 0, 0);
}

/* dup3(2) */
SAFESOCK_EXPORT int dup3(int fd, int to, int flags)
{
	if (!SAFESOCK_READY(dup3)) {
		errno = EBADF;
		return -1;
	}
	return duplicate_onto(fd, to, flags, 1);
}

/* close_range(2) */
SAFESOCK_EXPORT int close_range(unsigned int first, unsigned int last, int flags)
{
	if (!SAFESOCK_READY(close_range)) {
		errno = ENOSYS;
		return -1;
	}
	if (!(flags & CLOSE_RANGE_CLOEXEC))
		for (unsigned int fd = first; fd <= last && fd < TRACKED; fd++)
			forget((int)fd);
	return safesock_real_close_range(first, last, flags);
}

/* closefrom(3): glibc closes through its own close_range, unseen. */
SAFESOCK_EXPORT void closefrom(int lowest)
{
	for (int fd = lowest < 0 ? 0 : lowest; fd < TRACKED; fd++)
		forget(fd);
	if (SAFESOCK_READY(close_range))
		safesock_real_close_range((unsigned int)(lowest < 0 ? 0 : lowest), ~0u, 0);
}

static int checked_fcntl(int (*real)(int, int, ...), int fd, int cmd, va_list ap)
{
	/* Every fcntl argument is an int or a pointer, passed in one register. */
	void *arg = va_arg(ap, void *);
	if (real == NULL) {
		errno = EBADF;
		return -1;
	}
	if ((cmd != F_DUPFD && cmd != F_DUPFD_CLOEXEC) || !is_marked(fd))
		return real(fd, cmd, arg);
	if (safesock_sockets_reserve(safesock_current_options().max_sockets, "dup", "", NULL, -1) != 0)
		return -1;
	return copied(real(fd, cmd, arg));
}

/* fcntl(2) */
SAFESOCK_EXPORT int fcntl(int fd, int cmd, ...)
{
	va_list ap;
	va_start(ap, cmd);
	(void)SAFESOCK_READY(fcntl);
	int rc = checked_fcntl(safesock_real_fcntl, fd, cmd, ap);
	va_end(ap);
	return rc;
}

/* fcntl64: what programs built against glibc 2.28 and later call. */
SAFESOCK_EXPORT int fcntl64(int fd, int cmd, ...)
{
	va_list ap;
	va_start(ap, cmd);
	(void)SAFESOCK_READY(fcntl64);
	int rc = checked_fcntl(safesock_real_fcntl64, fd, cmd, ap);
	va_end(ap);
	return rc;
}
