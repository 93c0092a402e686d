/*
 * raw.h: how the library forwards a call it allowed. Under `safesock run
 * --kernel` (SAFESOCK_KERNEL=1) it makes the system call from its own code
 * (raw.c), where the kernel backstop's supervisor recognises it and lets
 * it go on: a call the library decided, with names, is not judged again
 * by address. Otherwise it calls libc's function, as always.
 */
#ifndef SAFESOCK_RAW_H
#define SAFESOCK_RAW_H

#include <sys/syscall.h>

#include "common.h"

/* The library's one `syscall` instruction (x86_64; elsewhere there is no
 * kernel backstop and this is not called). Returns like libc: -1, errno. */
long safesock_raw_syscall(long nr, long a, long b, long c, long d, long e, long f);

/* `raw`: the destination's `kernel` flag (run --kernel). Inline: the
 * connect path pays one predictable branch for it. */
static inline int safesock_forward_connect(int raw, safesock_connect_fn real, int fd, const struct sockaddr *addr,
					   socklen_t len)
{
	if (raw)
		return (int)safesock_raw_syscall(SYS_connect, fd, (long)addr, len, 0, 0, 0);
	return real(fd, addr, len);
}

static inline ssize_t safesock_forward_sendto(int raw, int fd, const void *buf, size_t n, int flags,
					      const struct sockaddr *addr, socklen_t len)
{
	if (raw)
		return safesock_raw_syscall(SYS_sendto, fd, (long)buf, (long)n, flags, (long)addr, len);
	return safesock_real_sendto(fd, buf, n, flags, addr, len);
}

static inline ssize_t safesock_forward_sendmsg(int raw, int fd, const struct msghdr *msg, int flags)
{
	if (raw)
		return safesock_raw_syscall(SYS_sendmsg, fd, (long)msg, flags, 0, 0, 0);
	return safesock_real_sendmsg(fd, msg, flags);
}

static inline int safesock_forward_sendmmsg(int raw, int (*real)(int, struct mmsghdr *, unsigned int, int), int fd,
					    struct mmsghdr *vec, unsigned int vlen, int flags)
{
	if (raw)
		return (int)safesock_raw_syscall(SYS_sendmmsg, fd, (long)vec, vlen, flags, 0, 0);
	return real(fd, vec, vlen, flags);
}

#endif
