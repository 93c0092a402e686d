/*
 * common.h: what every interposer shares (torsocks' src/common habit).
 *
 * Each intercepted call is declared once here: its return type, parameter
 * list and argument list. From that one line come the pointer to libc's
 * function, its resolution at load, and the forwarding call, so the three
 * cannot drift apart. An interposer file then holds: the exported symbol
 * (a few lines) and a function with its logic.
 */
#ifndef SAFESOCK_COMMON_H
#define SAFESOCK_COMMON_H

#include <netdb.h>
#include <netinet/in.h>
#include <resolv.h>
#include <spawn.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <sys/socket.h>

#include "safesock_abi.h"
#include "safesock_match.h"

#define SAFESOCK_EXPORT __attribute__((visibility("default")))

/* name, return type, (parameters), (arguments) */
#define SAFESOCK_CALLS(X) \
	X(connect, int, (int fd, const struct sockaddr *addr, socklen_t len), (fd, addr, len)) \
	X(__connect, int, (int fd, const struct sockaddr *addr, socklen_t len), (fd, addr, len)) \
	X(sendto, ssize_t, (int fd, const void *buf, size_t n, int flags, const struct sockaddr *addr, socklen_t len), \
	  (fd, buf, n, flags, addr, len)) \
	X(sendmsg, ssize_t, (int fd, const struct msghdr *msg, int flags), (fd, msg, flags)) \
	X(sendmmsg, int, (int fd, struct mmsghdr *vec, unsigned int vlen, int flags), (fd, vec, vlen, flags)) \
	X(__sendmmsg, int, (int fd, struct mmsghdr *vec, unsigned int vlen, int flags), (fd, vec, vlen, flags)) \
	X(getaddrinfo, int, (const char *node, const char *service, const struct addrinfo *hints, struct addrinfo **res), \
	  (node, service, hints, res)) \
	X(gethostbyname, struct hostent *, (const char *name), (name)) \
	X(gethostbyname2, struct hostent *, (const char *name, int af), (name, af)) \
	X(gethostbyname_r, int, (const char *name, struct hostent *ret, char *buf, size_t buflen, struct hostent **result, \
	  int *h_errnop), (name, ret, buf, buflen, result, h_errnop)) \
	X(gethostbyname2_r, int, (const char *name, int af, struct hostent *ret, char *buf, size_t buflen, \
	  struct hostent **result, int *h_errnop), (name, af, ret, buf, buflen, result, h_errnop)) \
	X(res_query, int, (const char *name, int class, int type, unsigned char *answer, int length), \
	  (name, class, type, answer, length)) \
	X(res_search, int, (const char *name, int class, int type, unsigned char *answer, int length), \
	  (name, class, type, answer, length)) \
	X(res_querydomain, int, (const char *name, const char *domain, int class, int type, unsigned char *answer, \
	  int length), (name, domain, class, type, answer, length)) \
	X(res_send, int, (const unsigned char *message, int length, unsigned char *answer, int size), \
	  (message, length, answer, size)) \
	X(res_nquery, int, (res_state state, const char *name, int class, int type, unsigned char *answer, int length), \
	  (state, name, class, type, answer, length)) \
	X(res_nsearch, int, (res_state state, const char *name, int class, int type, unsigned char *answer, int length), \
	  (state, name, class, type, answer, length)) \
	X(res_nquerydomain, int, (res_state state, const char *name, const char *domain, int class, int type, \
	  unsigned char *answer, int length), (state, name, domain, class, type, answer, length)) \
	X(res_nsend, int, (res_state state, const unsigned char *message, int length, unsigned char *answer, int size), \
	  (state, message, length, answer, size)) \
	X(getnameinfo, int, (const struct sockaddr *sa, socklen_t salen, char *host, socklen_t hostlen, char *serv, \
	  socklen_t servlen, int flags), (sa, salen, host, hostlen, serv, servlen, flags)) \
	X(gethostbyaddr, struct hostent *, (const void *addr, socklen_t len, int type), (addr, len, type)) \
	X(gethostbyaddr_r, int, (const void *addr, socklen_t len, int type, struct hostent *ret, char *buf, size_t buflen, \
	  struct hostent **result, int *h_errnop), (addr, len, type, ret, buf, buflen, result, h_errnop)) \
	X(getservbyname, struct servent *, (const char *name, const char *proto), (name, proto)) \
	X(getservbyname_r, int, (const char *name, const char *proto, struct servent *ret, char *buf, size_t buflen, \
	  struct servent **result), (name, proto, ret, buf, buflen, result)) \
	X(getservent, struct servent *, (void), ()) \
	X(getservent_r, int, (struct servent *ret, char *buf, size_t buflen, struct servent **result), \
	  (ret, buf, buflen, result)) \
	X(getpeername, int, (int fd, struct sockaddr *addr, socklen_t *len), (fd, addr, len)) \
	X(setsockopt, int, (int fd, int level, int name, const void *value, socklen_t length), \
	  (fd, level, name, value, length)) \
	X(bind, int, (int fd, const struct sockaddr *addr, socklen_t len), (fd, addr, len)) \
	X(listen, int, (int fd, int backlog), (fd, backlog)) \
	X(execve, int, (const char *path, char *const argv[], char *const envp[]), (path, argv, envp)) \
	X(execvpe, int, (const char *file, char *const argv[], char *const envp[]), (file, argv, envp)) \
	X(fexecve, int, (int fd, char *const argv[], char *const envp[]), (fd, argv, envp)) \
	X(execveat, int, (int dirfd, const char *path, char *const argv[], char *const envp[], int flags), \
	  (dirfd, path, argv, envp, flags)) \
	X(posix_spawn, int, (pid_t *pid, const char *path, const posix_spawn_file_actions_t *actions, \
	  const posix_spawnattr_t *attr, char *const argv[], char *const envp[]), (pid, path, actions, attr, argv, envp)) \
	X(posix_spawnp, int, (pid_t *pid, const char *file, const posix_spawn_file_actions_t *actions, \
	  const posix_spawnattr_t *attr, char *const argv[], char *const envp[]), (pid, file, actions, attr, argv, envp)) \
	X(system, int, (const char *command), (command)) \
	X(popen, FILE *, (const char *command, const char *type), (command, type)) \
	X(close, int, (int fd), (fd)) \
	X(dup, int, (int fd), (fd)) \
	X(dup2, int, (int fd, int to), (fd, to)) \
	X(dup3, int, (int fd, int to, int flags), (fd, to, flags)) \
	X(close_range, int, (unsigned int first, unsigned int last, int flags), (first, last, flags)) \
	X(fcntl, int, (int fd, int cmd, ...), (fd, cmd)) \
	X(fcntl64, int, (int fd, int cmd, ...), (fd, cmd))

#define SAFESOCK_DECLARE_REAL(name, ret, params, args) \
	typedef ret (*safesock_##name##_fn) params; \
	extern safesock_##name##_fn safesock_real_##name;
SAFESOCK_CALLS(SAFESOCK_DECLARE_REAL)

/* What the one verdict function says about a call. */
enum safesock_verdict {
	SAFESOCK_PASS,  /* not ours to judge (not inet); forward untouched */
	SAFESOCK_ALLOW, /* judged and allowed; forward the checked copy */
	SAFESOCK_DENY,  /* judged and denied; errno is set */
};

/* A destination address, copied out of the caller's memory so that a
 * racing thread cannot change it between the check and the call. */
struct safesock_destination {
	struct sockaddr_storage addr;
	socklen_t length;
	uint32_t max_sockets; /* the deciding table's maxSockets (0: no limit) */
	int kernel;           /* under run --kernel: forward it from the library's own code (raw.h) */
};

/* Declared here as glibc's headers do not (or not in C11 mode). */
int __sendmmsg(int fd, struct mmsghdr *vec, unsigned int vlen, int flags);
int execveat(int dirfd, const char *path, char *const argv[], char *const envp[], int flags);
int close_range(unsigned int first, unsigned int last, int flags);
int fcntl64(int fd, int cmd, ...);
void closefrom(int lowest);

/* The settings the launcher injects, as environment variables. */
enum {
	SAFESOCK_SETTING_TABLE,  /* SAFESOCK_TABLE: a table file, or a publication's name */
	SAFESOCK_SETTING_ORIGIN, /* SAFESOCK_ORIGIN: the origin host */
	SAFESOCK_SETTING_LOG,    /* SAFESOCK_LOG: the audit log */
	SAFESOCK_SETTING_MODE,   /* SAFESOCK_MODE: learn */
	SAFESOCK_SETTING_KERNEL, /* SAFESOCK_KERNEL: 1 under run --kernel */
	SAFESOCK_SETTING_TABLE_FD, /* SAFESOCK_TABLE_FD: `run`'s sealed memfd of that table file, inherited */
	SAFESOCK_SETTINGS
};

/* What follows `prefix` in `text`, or NULL. Not strncmp: a libc function
 * the library first calls at load costs its lazy binding (some 700
 * instructions) in every program's start, and the environment is read
 * with this for every variable. */
static inline const char *safesock_after(const char *text, const char *prefix)
{
	for (; *prefix != '\0'; text++, prefix++)
		if (*text != *prefix)
			return NULL;
	return text;
}

/* Loads the table and settings once; safe to call from any interposer. */
void safesock_init(void);

/* Whether libc's `name` is known. The calls a signal handler may make
 * (async-signal-safe in POSIX) are looked up at load, as dlsym itself is
 * not async-signal-safe (by one walk of the loaded objects, symbols.c);
 * the rest by dlsym on first use, which keeps start-up cheap (a dlsym
 * costs about 970 instructions; most programs make few of these calls).
 * Loads first if an interposer runs before the constructor did
 * (another library's constructor may close a file). If it stays unknown
 * the interposer denies rather than guesses. */
#define SAFESOCK_READY(name) \
	(__atomic_load_n(&safesock_real_##name, __ATOMIC_ACQUIRE) != NULL || \
	 safesock_resolve((void **)&safesock_real_##name, #name))
int safesock_resolve(void **slot, const char *name);

/* connect(2)-style check of `addr` for socket `fd`, on a private copy in
 * `out`. Side effects: a denial is reported (audit line). */
enum safesock_verdict safesock_check_destination(int fd, const struct sockaddr *addr, socklen_t len,
						 const char *op, struct safesock_destination *out);

#endif
