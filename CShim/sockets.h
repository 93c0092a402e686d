/*
 * sockets.h: the `maxSockets` count (sockets.c).
 */
#ifndef SAFESOCK_SOCKETS_H
#define SAFESOCK_SOCKETS_H

#include <errno.h>
#include <stdatomic.h>

#include "common.h"

/* The places (sockets.c): a bit a descriptor below this, and the count. */
#define SAFESOCK_SOCKETS_TRACKED 65536
extern _Atomic uint64_t safesock_sockets_marked[SAFESOCK_SOCKETS_TRACKED / 64];
extern _Atomic unsigned int safesock_sockets_held;

int safesock_sockets_reserve_limited(uint32_t limit, const char *op, const char *host, const char *address, int port);

/* Takes a place for a connection about to be made: 0, or -1 with errno
 * EMFILE (reported) when all places are held. Without a limit, inline. */
static inline int safesock_sockets_reserve(uint32_t limit, const char *op, const char *host, const char *address, int port)
{
	if (limit == 0) { /* counted all the same: a later table may set a limit */
		atomic_fetch_add(&safesock_sockets_held, 1);
		return 0;
	}
	return safesock_sockets_reserve_limited(limit, op, host, address, port);
}
/* The reserved place is not needed after all (the call failed). Inline,
 * as hold: each connect pays one of them; neither sets errno. */
static inline void safesock_sockets_release(void)
{
	atomic_fetch_sub(&safesock_sockets_held, 1);
}

/* A connect (or Fast Open send) that failed with `error` goes on in the
 * kernel, so its socket holds its place: in progress, or cut off by a
 * signal (EINTR), after which the kernel keeps connecting. */
static inline int safesock_sockets_still_connecting(int error)
{
	return error == EINPROGRESS || error == EINTR;
}

/* `fd` now holds the reserved place. */
static inline void safesock_sockets_hold(int fd)
{
	if (fd < 0 || fd >= SAFESOCK_SOCKETS_TRACKED) {
		safesock_sockets_release();
		return;
	}
	uint64_t bit = (uint64_t)1 << (fd % 64);
	if (atomic_fetch_or(&safesock_sockets_marked[fd / 64], bit) & bit)
		safesock_sockets_release(); /* connected again: it holds its place already */
}

#endif
