/*
 * kernel_private.h: what kernel.c and calls.c share, not for the Swift side.
 */
#ifndef SAFESOCK_KERNEL_PRIVATE_H
#define SAFESOCK_KERNEL_PRIVATE_H

#include <stdint.h>
#include <sys/types.h>

#include "safesock_kernel.h"

/* Copies `length` bytes at `remote` in `pid` to `local`; 0, or an errno. */
int safesock_kernel_copy_in(pid_t pid, uint64_t remote, void *local, size_t length);

/* Answers call `id`: `value`, or the error -`error`; `flags` as SECCOMP_IOCTL_NOTIF_SEND takes them. */
int safesock_kernel_respond(int listener, uint64_t id, int64_t value, int error, uint32_t flags);

/* Closes the call's duplicate of the caller's socket, if it holds one. */
void safesock_kernel_release(struct safesock_kernel_call *call);

/* namespace.c, in the child before exec. The namespace: 0; -1 (errno)
 * when none could be made, nothing changed; -2 when one is half made. Capabilities: 0 all gone; 1 the bounding set stays (no
 * privilege to empty it); -1 failed. */
int safesock_kernel_enter_namespace(int as_root, const struct safesock_kernel_nameserver *nameservers, int count,
				    int *dns_udp, int *dns_tcp);
int safesock_kernel_read_only_publications(void); /* 0, or -1 */
int safesock_kernel_drop_capabilities(void);

#endif
