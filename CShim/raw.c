/*
 * raw.c: the library's own system calls (raw.h says when and why). The
 * `syscall` instruction is in this one function, so that the supervisor of
 * `run --kernel` can tell a call the library made from one the program
 * made: by where it was made from, inside this library's code. That trusts
 * the program not to jump into it; docs/enforcement.md says so.
 */
#include <errno.h>
#include <sys/syscall.h>
#include <unistd.h>

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

long safesock_raw_syscall(long nr, long a, long b, long c, long d, long e, long f)
{
	long result = raw_syscall(nr, a, b, c, d, e, f);
	if (result < 0 && result > -4096) {
		errno = (int)-result;
		return -1;
	}
	return result;
}
#else
long safesock_raw_syscall(long nr, long a, long b, long c, long d, long e, long f)
{
	return syscall(nr, a, b, c, d, e, f); /* no kernel backstop here */
}
#endif
