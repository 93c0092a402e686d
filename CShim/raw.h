/*
 * raw.h: how the library forwards a call it allowed. Under `safesock run
 * --kernel` (SAFESOCK_KERNEL=1) it makes the system call from its own code
 * (raw.c), where the kernel backstop's supervisor recognises it and lets
 * it go on: a call the library decided, with names, is not judged again
 * by address. Otherwise it calls libc's function, as always.
 */
#ifndef SAFESOCK_RAW_H
#define SAFESOCK_RAW_H

#include "common.h"

/* `raw`: the destination's `kernel` flag (run --kernel). */
int safesock_forward_connect(int raw, safesock_connect_fn real, int fd, const struct sockaddr *addr, socklen_t len);
ssize_t safesock_forward_sendto(int raw, int fd, const void *buf, size_t n, int flags, const struct sockaddr *addr,
				socklen_t len);
ssize_t safesock_forward_sendmsg(int raw, int fd, const struct msghdr *msg, int flags);
int safesock_forward_sendmmsg(int raw, int (*real)(int, struct mmsghdr *, unsigned int, int), int fd, struct mmsghdr *vec,
			      unsigned int vlen, int flags);

#endif
