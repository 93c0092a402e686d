/*
 * raw.c: the library's own system calls (raw.h says when and why). The
 * `syscall` instruction is in this one function, so that the supervisor of
 * `run --kernel` can tell a call the library made from one the program
 * made: by where it was made from, inside this library's code. That trusts
 * the program not to jump into it; docs/enforcement.md says so.
 */
#include <errno.h>
#include <sys/syscall.h>

#include "raw.h"

#if defined(__x86_64__)
static __attribute__((noinline)) long raw_syscall(long nr, long a, long b, long c, long d, long e, long f)
{
	long result;
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	register long r9 __asm__("r9") = f;
	__asm__ volatile("syscall"
			 : "=a"(result)
			 : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return result;
}

static long as_libc(long result)
{
	if (result < 0 && result > -4096) {
		errno = (int)-result;
		return -1;
	}
	return result;
}
#define RAW(nr, a, b, c, d, e, f) as_libc(raw_syscall((nr), (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), (long)(f)))
#define HAVE_RAW 1
#else
#define HAVE_RAW 0 /* the kernel backstop is x86_64 only */
#endif

int safesock_forward_connect(int raw, safesock_connect_fn real, int fd, const struct sockaddr *addr, socklen_t len)
{
#if HAVE_RAW
	if (raw)
		return (int)RAW(SYS_connect, fd, addr, len, 0, 0, 0);
#endif
	(void)raw;
	return real(fd, addr, len);
}

ssize_t safesock_forward_sendto(int raw, int fd, const void *buf, size_t n, int flags, const struct sockaddr *addr,
				socklen_t len)
{
#if HAVE_RAW
	if (raw)
		return RAW(SYS_sendto, fd, buf, n, flags, addr, len);
#endif
	(void)raw;
	return safesock_real_sendto(fd, buf, n, flags, addr, len);
}

ssize_t safesock_forward_sendmsg(int raw, int fd, const struct msghdr *msg, int flags)
{
#if HAVE_RAW
	if (raw)
		return RAW(SYS_sendmsg, fd, msg, flags, 0, 0, 0);
#endif
	(void)raw;
	return safesock_real_sendmsg(fd, msg, flags);
}

int safesock_forward_sendmmsg(int raw, int (*real)(int, struct mmsghdr *, unsigned int, int), int fd, struct mmsghdr *vec,
			      unsigned int vlen, int flags)
{
#if HAVE_RAW
	if (raw)
		return (int)RAW(SYS_sendmmsg, fd, vec, vlen, flags, 0, 0);
#endif
	(void)raw;
	return real(fd, vec, vlen, flags);
}
