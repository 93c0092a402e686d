/*
 * libchain.so: another preload library with its own connect, as a
 * program's own shim or a second tool would have. It says "chain connect"
 * on stderr and hands the call on with dlsym(RTLD_NEXT). Preloaded after
 * safesock, it must see every connect safesock allowed, and none it
 * denied; before it, every connect, which safesock then judges.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <sys/socket.h>
#include <unistd.h>

int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
	static const char said[] = "chain connect\n";
	ssize_t ignored = write(2, said, sizeof said - 1);
	(void)ignored;
	int (*next)(int, const struct sockaddr *, socklen_t) = (int (*)(int, const struct sockaddr *, socklen_t))dlsym(RTLD_NEXT, "connect");
	return next == NULL ? -1 : next(fd, addr, len);
}
