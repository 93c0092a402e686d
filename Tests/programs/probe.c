/*
 * probe: one small C client per intercepted call family, for the library's
 * tests. Each subcommand prints one line per attempt: "ok", "errno N" (a
 * call failed with errno N) or "gai N" (a resolver call failed with N).
 *
 *   probe connect HOST PORT        getaddrinfo (numeric or name), connect
 *   probe dunder ADDR PORT         __connect
 *   probe udp-sendto ADDR PORT     sendto on an unconnected UDP socket
 *   probe udp-sendmsg ADDR PORT    sendmsg with msg_name
 *   probe udp-sendmmsg ADDR PORT   sendmmsg, two messages
 *   probe tfo ADDR PORT            sendto(MSG_FASTOPEN) on TCP
 *   probe tfo-many ADDR PORT N     N TCP sockets connected by sendto(MSG_FASTOPEN),
 *                                  kept open: "connected K"
 *   probe getnameinfo ADDR [namereqd]
 *                                  getnameinfo of ADDR: "name X" or "gai N"
 *   probe gethostbyaddr ADDR       gethostbyaddr: "name X" or "h_errno N"
 *   probe reverse-after NAME       getaddrinfo(NAME), then getnameinfo of its
 *                                  first address with NI_NAMEREQD
 *   probe rexec ADDR PORT          glibc's rexec(3) to ADDR:PORT (its connect is
 *                                  libc's own, internal); bounded by alarm(3)
 *   probe dlsym-connect ADDR PORT  connect taken by dlsym from a dlopen'ed libc
 *   probe truncate-table ADDR PORT a connect, then SAFESOCK_TABLE (a file, or
 *                                  a publication's object) truncated to
 *                                  PROBE_TRUNCATE_TO bytes (default 0),
 *                                  then a connect: two lines
 *   probe rewrite-between ADDR PORT ADDR2 PORT2
 *                                  a connect, a byte of the publication's
 *                                  object flipped at PROBE_REWRITE_AT, a
 *                                  connect to the second: two lines
 *   probe bind PORT                bind 127.0.0.1:PORT
 *   probe listen                   bind port 0, listen
 *   probe gethostbyname NAME       gethostbyname, then connect? no: prints addresses
 *   probe getservbyname NAME       getservbyname(NAME, "tcp")
 *   probe threads N HOST PORT HOST2 PORT2 ROUNDS
 *                                  N threads, each resolving and connecting
 *                                  to both destinations ROUNDS times; prints
 *                                  "A ok", "A errno N", "B ..." counts
 *   probe fork HOST PORT           the same connect in a forked child
 *   probe spawn HOST PORT          posix_spawn of `probe connect` with an empty environment
 *   probe vfork HOST PORT          vfork + execve of it with an empty environment
 *   probe system HOST PORT         clearenv, then system() of it
 *   probe escape HOST PORT         execve of it with SAFESOCK_MODE=learn and another table
 *   probe maxsockets ADDR PORT     the maxSockets scenario, one line per step
 *   probe interrupted-connect ADDR PORT [tfo]
 *                                  a blocking connect (or Fast Open send) to
 *                                  a full listener of its own (made and filled
 *                                  by raw system calls the library does not
 *                                  see) cut off by SIGALRM, then a connect to
 *                                  ADDR:PORT: "first ..." and "second ..." lines
 *   probe signals HOST PORT DENIED ROUNDS
 *                                  getaddrinfo(HOST) ROUNDS times while a 0.5 ms
 *                                  timer's handler connects to 127.0.0.1:DENIED
 *   probe gadget ADDR PORT         connect by jumping into the library's own
 *                                  `syscall; ret` (as hostile code could),
 *                                  past its interposer (x86_64)
 *   probe gadget-tfo ADDR PORT     the same with sendto(MSG_FASTOPEN)
 *   probe resolve-raw NAME PORT    getaddrinfo(NAME) through the library, then
 *                                  syscall(SYS_connect) past it
 *   probe forge NAME ADDR PORT     writes "NAME is ADDR" into the library's
 *                                  name memory itself (run --kernel's
 *                                  mapping), then syscall(SYS_connect)
 *   probe res-query NAME           res_query(NAME, IN, A): "ok" or "h_errno N"
 *   probe res-send NAME            res_mkquery, then res_send of the packet
 *   probe res-querydomain NAME DOMAIN  res_querydomain(NAME, DOMAIN, IN, A)
 *   probe small-stack WHERE CALL PROGRAM ARG...
 *                                  CALL (execv, execl, execle, execvp,
 *                                  posix_spawn, system, popen) of PROGRAM
 *                                  from WHERE: "thread", one with a 16 KiB
 *                                  stack, or "signal", a handler on a
 *                                  SIGSTKSZ alternate stack; the exec forms
 *                                  become PROGRAM, the others print "ok"
 *                                  when it exited 0
 *   probe stress THREADS MIN ADDR PORT_A PORT_B allow|deny
 *                                  THREADS threads connect to PORT_A (policies
 *                                  disagree) and PORT_B (both deny) until each
 *                                  did MIN rounds, SIGUSR1 came, and 1,000
 *                                  rounds followed it; prints the tallies
 */
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <netdb.h>
#include <resolv.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "safesock_name_memory.h"

#undef p_type /* <resolv.h> renames it; ElfW(Phdr) has one */

extern int __connect(int, const struct sockaddr *, socklen_t);

/* A numeric address, or -1. */
static int numeric(const char *host, int port, struct sockaddr_storage *ss, socklen_t *len)
{
	memset(ss, 0, sizeof *ss);
	struct sockaddr_in *in = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, host, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		in->sin_port = htons((unsigned short)port);
		*len = sizeof *in;
		return 0;
	}
	if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((unsigned short)port);
		*len = sizeof *in6;
		return 0;
	}
	return -1;
}

/* Resolves and connects; 0, an errno (> 0) or a gai code (< 0, minus 1000). */
static int resolve_connect(const char *host, const char *port)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res;
	int rc = getaddrinfo(host, port, &hints, &res);
	if (rc != 0)
		return -1000 + rc;
	int result = ECONNREFUSED;
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		int fd = socket(ai->ai_family, ai->ai_socktype, 0);
		if (fd < 0)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
			result = 0;
			close(fd);
			break;
		}
		result = errno;
		close(fd);
	}
	freeaddrinfo(res);
	return result;
}

static void on_alarm(int sig)
{
	(void)sig; /* only to cut the connect short (no SA_RESTART) */
}

/* The kernel goes on connecting a socket whose connect a signal cut off
 * (EINTR): it holds its place under maxSockets as an EINPROGRESS does. */
static int interrupted_connect(const char *host, int port, int fast_open)
{
	struct sockaddr_storage ss, full;
	socklen_t len, full_len;
	if (numeric(host, 0, &full, &full_len) != 0 || numeric(host, port, &ss, &len) != 0)
		return 2;
	int listener = (int)syscall(SYS_socket, full.ss_family, SOCK_STREAM, 0);
	if (listener < 0 || syscall(SYS_bind, listener, (struct sockaddr *)&full, full_len) != 0 ||
	    syscall(SYS_listen, listener, 0) != 0 || syscall(SYS_getsockname, listener, (struct sockaddr *)&full, &full_len) != 0) {
		printf("setup errno %d\n", errno);
		return 2;
	}
	/* A backlog of 0 holds one connection; later SYNs are dropped, and a
	 * blocking connect waits for the retransmission, a second away. */
	for (int i = 0; i < 3; i++) {
		int filler = (int)syscall(SYS_socket, full.ss_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
		syscall(SYS_connect, filler, (struct sockaddr *)&full, full_len);
	}
	usleep(100000);
	struct sigaction action = { .sa_handler = on_alarm };
	sigemptyset(&action.sa_mask);
	sigaction(SIGALRM, &action, NULL);
	struct itimerval timer = { .it_value = { .tv_sec = 0, .tv_usec = 300000 } };
	setitimer(ITIMER_REAL, &timer, NULL);
	int first = socket(full.ss_family, SOCK_STREAM, 0);
	int rc = fast_open ? (int)sendto(first, "x", 1, MSG_FASTOPEN, (struct sockaddr *)&full, full_len)
			   : connect(first, (struct sockaddr *)&full, full_len);
	rc = rc < 0 ? -1 : 0;
	printf("first %s %d\n", rc == 0 ? "ok" : "errno", rc == 0 ? 0 : errno);
	int second = socket(ss.ss_family, SOCK_STREAM, 0);
	rc = connect(second, (struct sockaddr *)&ss, len);
	printf("second %s %d\n", rc == 0 ? "ok" : "errno", rc == 0 ? 0 : errno);
	return 0;
}

static int say(int rc)
{
	if (rc == 0)
		printf("ok\n");
	else if (rc < -900)
		printf("gai %d\n", rc + 1000);
	else
		printf("errno %d\n", rc);
	fflush(stdout);
	return rc == 0 ? 0 : 1;
}

/* getaddrinfo through the library (its name memory learns the name), then
 * a connect it does not see. */
static int resolve_raw(const char *name, const char *port)
{
	struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_STREAM }, *res;
	int rc = getaddrinfo(name, port, &hints, &res);
	if (rc != 0)
		return say(rc - 1000);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	int result = syscall(SYS_connect, fd, res->ai_addr, res->ai_addrlen) == 0 ? 0 : errno;
	freeaddrinfo(res);
	return say(result);
}

/* Claims a name for an address in the library's name memory, as a hostile
 * program could (safesock_name_memory.h), then connects past the library. */
static int forge(const char *name, const char *address, const char *port)
{
	FILE *maps = fopen("/proc/self/maps", "r");
	char line[512];
	unsigned long low = 0;
	while (maps != NULL && fgets(line, sizeof line, maps) != NULL) {
		if (strstr(line, "/memfd:" SAFESOCK_NAME_MEMORY_FILE " (deleted)") != NULL) {
			low = strtoul(line, NULL, 16);
			break;
		}
	}
	if (maps != NULL)
		fclose(maps);
	if (low == 0) {
		printf("no name memory\n");
		return 1;
	}
	uint8_t bytes[16] = { 0 };
	inet_pton(AF_INET, address, bytes);
	uint8_t *entry = (uint8_t *)low + (size_t)safesock_name_home(4, bytes) * SAFESOCK_NAME_ENTRY_SIZE;
	uint32_t sequence = 2;
	memcpy(entry + SAFESOCK_NAME_SEQUENCE_OFFSET, &sequence, sizeof sequence);
	entry[SAFESOCK_NAME_FAMILY_OFFSET] = 4;
	entry[SAFESOCK_NAME_LENGTH_OFFSET] = (uint8_t)strlen(name);
	memcpy(entry + SAFESOCK_NAME_ADDRESS_OFFSET, bytes, 16);
	memcpy(entry + SAFESOCK_NAME_TEXT_OFFSET, name, strlen(name));
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(port)) };
	memcpy(&to.sin_addr, bytes, 4);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	return say(syscall(SYS_connect, fd, &to, sizeof to) == 0 ? 0 : errno);
}

/* libc's raw DNS calls, which the library gates by name (CShim/dns.c). */
static int raw_dns(const char *mode, const char *name, const char *domain)
{
	unsigned char answer[512];
	int rc;
	if (strcmp(mode, "res-query") == 0) {
		rc = res_query(name, C_IN, T_A, answer, sizeof answer);
	} else if (strcmp(mode, "res-querydomain") == 0) {
		rc = res_querydomain(name, domain, C_IN, T_A, answer, sizeof answer);
	} else {
		unsigned char query[512];
		int length = res_mkquery(QUERY, name, C_IN, T_A, NULL, 0, NULL, query, sizeof query);
		rc = length < 0 ? -1 : res_send(query, length, answer, sizeof answer);
	}
	if (rc < 0)
		printf("h_errno %d\n", h_errno);
	else
		printf("ok\n");
	return rc < 0;
}

/* The library's `syscall; ret` bytes, found as hostile code would find
 * them: by scanning its executable pages. */
static int find_gadget(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	if (info->dlpi_name == NULL || strstr(info->dlpi_name, "libsafesock") == NULL)
		return 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
			continue;
		const unsigned char *code = (const unsigned char *)(info->dlpi_addr + ph->p_vaddr);
		for (size_t k = 0; k + 2 < ph->p_memsz; k++) {
			if (code[k] == 0x0f && code[k + 1] == 0x05 && code[k + 2] == 0xc3) {
				*(const void **)data = code + k;
				return 1;
			}
		}
	}
	return 0;
}

/* connect, or with `fastopen` sendto(MSG_FASTOPEN), made by jumping into
 * the library's `syscall; ret`. */
static int gadget_connect(const char *address, const char *port, int fastopen)
{
#if defined(__x86_64__)
	const void *gadget = NULL;
	dl_iterate_phdr(find_gadget, &gadget);
	if (gadget == NULL) {
		printf("no gadget\n");
		return 1;
	}
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(port)) };
	inet_pton(AF_INET, address, &to.sin_addr);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	long rc;
	register long r10 __asm__("r10") = MSG_FASTOPEN;
	register long r8 __asm__("r8") = (long)&to;
	register long r9 __asm__("r9") = sizeof to;
	/* Below the red zone, so the call's return address overwrites nothing. */
	if (fastopen)
		__asm__ volatile("sub $128, %%rsp\n\tcall *%[g]\n\tadd $128, %%rsp"
				 : "=a"(rc)
				 : [g] "r"(gadget), "a"((long)SYS_sendto), "D"((long)fd), "S"("x"), "d"(1L), "r"(r10), "r"(r8),
				   "r"(r9)
				 : "rcx", "r11", "memory");
	else
		__asm__ volatile("sub $128, %%rsp\n\tcall *%[g]\n\tadd $128, %%rsp"
				 : "=a"(rc)
				 : [g] "r"(gadget), "a"((long)SYS_connect), "D"((long)fd), "S"(&to), "d"((long)sizeof to)
				 : "rcx", "r11", "memory");
	return say(rc < 0 ? (int)-rc : 0);
#else
	(void)address, (void)port, (void)fastopen;
	printf("no gadget\n");
	return 1;
#endif
}

static int udp(const char *mode, const char *host, int port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	if (numeric(host, port, &ss, &len) != 0)
		return 2;
	int fd = socket(ss.ss_family, SOCK_DGRAM, 0);
	char data[] = "x";
	struct iovec iov = { data, 1 };
	ssize_t rc;
	if (strcmp(mode, "udp-sendto") == 0) {
		rc = sendto(fd, data, 1, 0, (struct sockaddr *)&ss, len);
	} else if (strcmp(mode, "udp-sendmsg") == 0) {
		struct msghdr msg = { .msg_name = &ss, .msg_namelen = len, .msg_iov = &iov, .msg_iovlen = 1 };
		rc = sendmsg(fd, &msg, 0);
	} else {
		struct mmsghdr vec[2];
		memset(vec, 0, sizeof vec);
		for (int i = 0; i < 2; i++)
			vec[i].msg_hdr = (struct msghdr){ .msg_name = &ss, .msg_namelen = len, .msg_iov = &iov, .msg_iovlen = 1 };
		rc = sendmmsg(fd, vec, 2, 0);
		if (rc >= 0 && rc != 2)
			return say(EIO);
	}
	return say(rc < 0 ? errno : 0);
}

struct job {
	const char *host[2], *port[2];
	int rounds;
	_Atomic int *counts; /* [destination][0 ok, 1 EACCES, 2 other] */
};

static void *worker(void *arg)
{
	struct job *job = arg;
	for (int r = 0; r < job->rounds; r++) {
		for (int d = 0; d < 2; d++) {
			int rc = resolve_connect(job->host[d], job->port[d]);
			atomic_fetch_add(&job->counts[d * 3 + (rc == 0 ? 0 : rc == EACCES ? 1 : 2)], 1);
		}
	}
	return NULL;
}

/* socket + connect + close to a numeric address: 0 or errno. */
static int connect_numeric(const char *host, int port, int keep, int *out)
{
	struct sockaddr_storage ss;
	socklen_t len;
	if (numeric(host, port, &ss, &len) != 0)
		return EINVAL;
	int fd = socket(ss.ss_family, SOCK_STREAM, 0);
	if (fd < 0)
		return errno;
	int rc = connect(fd, (struct sockaddr *)&ss, len) == 0 ? 0 : errno;
	if (keep && rc == 0)
		*out = fd;
	else
		close(fd);
	return rc;
}

static char self[4096];

static void exec_probe_argv(char **argv, const char *host, const char *port)
{
	argv[0] = self;
	argv[1] = "connect";
	argv[2] = (char *)host;
	argv[3] = (char *)port;
	argv[4] = NULL;
}

static int child_status(pid_t child)
{
	int status;
	if (waitpid(child, &status, 0) < 0)
		return 3;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 3;
}

static _Atomic int signals_handled;
static int denied_port;

static void connect_in_handler(int sig)
{
	(void)sig;
	int saved = errno;
	int ignored;
	connect_numeric("127.0.0.1", denied_port, 0, &ignored);
	atomic_fetch_add(&signals_handled, 1);
	errno = saved;
}

static _Atomic int final_seen;
static void on_final(int sig)
{
	(void)sig;
	atomic_store(&final_seen, 1);
}

struct stress {
	const char *host;
	int port_a, port_b, rounds, final_allow;
	_Atomic long a_allowed, a_denied, a_other, b_denied, b_other, after, wrong;
};

static void *stress_worker(void *arg)
{
	struct stress *st = arg;
	long done = 0, after = 0;
	int ignored;
	/* Bounded: a missing signal ends the run after 5 times the rounds. */
	while (done < (long)st->rounds * 5) {
		int final = atomic_load(&final_seen);
		if (done >= st->rounds && final && after >= 1000)
			break;
		int a = connect_numeric(st->host, st->port_a, 0, &ignored);
		if (a == ECONNREFUSED)
			atomic_fetch_add(&st->a_allowed, 1);
		else if (a == EACCES)
			atomic_fetch_add(&st->a_denied, 1);
		else
			atomic_fetch_add(&st->a_other, 1);
		if (final) {
			after++;
			if (a != (st->final_allow ? ECONNREFUSED : EACCES))
				atomic_fetch_add(&st->wrong, 1);
		}
		int b = connect_numeric(st->host, st->port_b, 0, &ignored);
		atomic_fetch_add(b == EACCES ? &st->b_denied : &st->b_other, 1);
		done++;
	}
	atomic_fetch_add(&st->after, after);
	return NULL;
}

/* small-stack: what to call, set before the thread or the signal. */
static char **small_argv;
static const char *small_call;

static void small_stack_call(void)
{
	char **a = small_argv;
	int status = -1;
	if (strcmp(small_call, "execv") == 0)
		execv(a[0], a);
	else if (strcmp(small_call, "execl") == 0)
		execl(a[0], a[0], a[1], (char *)NULL);
	else if (strcmp(small_call, "execle") == 0)
		execle(a[0], a[0], a[1], (char *)NULL, environ);
	else if (strcmp(small_call, "execvp") == 0)
		execvp(a[0], a);
	else if (strcmp(small_call, "posix_spawn") == 0) {
		pid_t pid;
		if (posix_spawn(&pid, a[0], NULL, NULL, a, environ) == 0)
			waitpid(pid, &status, 0);
	} else if (strcmp(small_call, "system") == 0) {
		status = system(a[0]);
	} else if (strcmp(small_call, "popen") == 0) {
		FILE *f = popen(a[0], "r");
		if (f != NULL) {
			char line[64];
			while (fgets(line, sizeof line, f) != NULL) {}
			status = pclose(f);
		}
	}
	/* The exec forms return only on failure. */
	const char *out = status == 0 ? "ok\n" : "failed\n";
	write(1, out, strlen(out));
	_exit(status == 0 ? 0 : 1);
}

static void *small_stack_thread(void *unused)
{
	(void)unused;
	small_stack_call();
	return NULL;
}

static void small_stack_handler(int sig)
{
	(void)sig;
	small_stack_call();
}

static int small_stack(const char *where, const char *call, char **argv)
{
	small_call = call, small_argv = argv;
	if (strcmp(where, "thread") == 0) {
		pthread_attr_t attr;
		pthread_attr_init(&attr);
		pthread_attr_setstacksize(&attr, 16384);
		pthread_t t;
		if (pthread_create(&t, &attr, small_stack_thread, NULL) != 0)
			return 2;
		pthread_join(t, NULL);
		return 1;
	}
	/* SIGSTKSZ: glibc makes it sysconf(_SC_SIGSTKSZ), what this CPU's
	 * signal frame needs plus room for a handler. */
	static char alternate[65536];
	long size = sysconf(_SC_SIGSTKSZ);
	stack_t ss = { .ss_sp = alternate, .ss_size = size > 0 && size < (long)sizeof alternate ? (size_t)size : 8192 };
	struct sigaction sa = { .sa_handler = small_stack_handler, .sa_flags = SA_ONSTACK };
	sigemptyset(&sa.sa_mask);
	if (sigaltstack(&ss, NULL) != 0 || sigaction(SIGUSR1, &sa, NULL) != 0)
		return 2;
	raise(SIGUSR1);
	return 1;
}

int main(int argc, char **argv)
{
	/* A launcher may hand down blocked signals (Dispatch threads block
	 * them): the scenarios below rely on SIGUSR1 and SIGALRM. */
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	ssize_t self_length = readlink("/proc/self/exe", self, sizeof self - 1);
	if (self_length > 0)
		self[self_length] = '\0';
	if (argc < 2)
		return 2;
	const char *cmd = argv[1];
	if (strcmp(cmd, "small-stack") == 0 && argc >= 5)
		return small_stack(argv[2], argv[3], argv + 4);
	if (strcmp(cmd, "connect") == 0 && argc == 4)
		return say(resolve_connect(argv[2], argv[3]));
	if ((strcmp(cmd, "res-query") == 0 || strcmp(cmd, "res-send") == 0) && argc == 3)
		return raw_dns(cmd, argv[2], NULL);
	if (strcmp(cmd, "res-querydomain") == 0 && argc == 4)
		return raw_dns(cmd, argv[2], argv[3]);
	if (strcmp(cmd, "resolve-raw") == 0 && argc == 4)
		return resolve_raw(argv[2], argv[3]);
	if (strcmp(cmd, "forge") == 0 && argc == 5)
		return forge(argv[2], argv[3], argv[4]);
	if (strcmp(cmd, "gadget") == 0 && argc == 4)
		return gadget_connect(argv[2], argv[3], 0);
	if (strcmp(cmd, "gadget-tfo") == 0 && argc == 4)
		return gadget_connect(argv[2], argv[3], 1);
	if (strcmp(cmd, "dunder") == 0 && argc == 4) {
		struct sockaddr_storage ss;
		socklen_t len;
		if (numeric(argv[2], atoi(argv[3]), &ss, &len) != 0)
			return 2;
		int fd = socket(ss.ss_family, SOCK_STREAM, 0);
		return say(__connect(fd, (struct sockaddr *)&ss, len) == 0 ? 0 : errno);
	}
	if (strncmp(cmd, "udp-", 4) == 0 && argc == 4)
		return udp(cmd, argv[2], atoi(argv[3]));
	if (strcmp(cmd, "tfo") == 0 && argc == 4) {
		struct sockaddr_storage ss;
		socklen_t len;
		if (numeric(argv[2], atoi(argv[3]), &ss, &len) != 0)
			return 2;
		int fd = socket(ss.ss_family, SOCK_STREAM, 0);
		ssize_t rc = sendto(fd, "x", 1, MSG_FASTOPEN, (struct sockaddr *)&ss, len);
		return say(rc < 0 && errno != EINPROGRESS ? errno : 0);
	}
	if (strcmp(cmd, "interrupted-connect") == 0 && (argc == 4 || (argc == 5 && strcmp(argv[4], "tfo") == 0)))
		return interrupted_connect(argv[2], atoi(argv[3]), argc == 5);
	if (strcmp(cmd, "tfo-many") == 0 && argc == 5) {
		/* N sockets, each connected by a Fast Open send, all kept open. */
		struct sockaddr_storage ss;
		socklen_t len;
		if (numeric(argv[2], atoi(argv[3]), &ss, &len) != 0)
			return 2;
		int connected = 0, n = atoi(argv[4]);
		for (int i = 0; i < n && i < 64; i++) {
			int fd = socket(ss.ss_family, SOCK_STREAM, 0);
			ssize_t rc = sendto(fd, "x", 1, MSG_FASTOPEN, (struct sockaddr *)&ss, len);
			if (rc >= 0 || errno == EINPROGRESS)
				connected++;
		}
		printf("connected %d\n", connected);
		return 0;
	}
	if ((strcmp(cmd, "getnameinfo") == 0 || strcmp(cmd, "gethostbyaddr") == 0 || strcmp(cmd, "reverse-after") == 0) &&
	    argc >= 3) {
		struct sockaddr_storage ss;
		socklen_t len;
		if (strcmp(cmd, "reverse-after") == 0) {
			struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_STREAM }, *found;
			int rc = getaddrinfo(argv[2], "80", &hints, &found);
			if (rc != 0) {
				printf("gai %d\n", rc);
				return 1;
			}
			memcpy(&ss, found->ai_addr, found->ai_addrlen);
			len = found->ai_addrlen;
			freeaddrinfo(found);
		} else if (numeric(argv[2], 80, &ss, &len) != 0) {
			return 2;
		}
		if (strcmp(cmd, "gethostbyaddr") == 0) {
			struct sockaddr_in *in = (struct sockaddr_in *)&ss;
			struct hostent *h = gethostbyaddr(&in->sin_addr, 4, AF_INET);
			if (h == NULL) {
				printf("h_errno %d\n", h_errno);
				return 1;
			}
			printf("name %s\n", h->h_name);
			return 0;
		}
		char host[NI_MAXHOST];
		int rc = getnameinfo((struct sockaddr *)&ss, len, host, sizeof host, NULL, 0,
				     argc == 4 || strcmp(cmd, "reverse-after") == 0 ? NI_NAMEREQD : 0);
		if (rc != 0) {
			printf("gai %d\n", rc);
			return 1;
		}
		printf("name %s\n", host);
		return 0;
	}
	if (strcmp(cmd, "rexec") == 0 && argc == 4) {
		/* glibc's rexec connects with its own internal __connect, which no
		 * preload library sees. It then waits for the server's answer:
		 * bounded by an alarm. */
		alarm(3);
		char *host = argv[2];
		int fd = rexec(&host, htons((uint16_t)atoi(argv[3])), "user", "password", "true", NULL);
		return say(fd >= 0 ? 0 : errno);
	}
	if (strcmp(cmd, "dlsym-connect") == 0 && argc == 4) {
		/* libc's connect taken from a handle of libc itself, past any
		 * interposer. */
		struct sockaddr_storage ss;
		socklen_t len;
		if (numeric(argv[2], atoi(argv[3]), &ss, &len) != 0)
			return 2;
		void *libc = dlopen("libc.so.6", RTLD_NOW | RTLD_LOCAL);
		int (*libc_connect)(int, const struct sockaddr *, socklen_t) =
			libc ? (int (*)(int, const struct sockaddr *, socklen_t))dlsym(libc, "connect") : NULL;
		if (libc_connect == NULL)
			return 2;
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		return say(libc_connect(fd, (struct sockaddr *)&ss, len) == 0 ? 0 : errno);
	}
	if (strcmp(cmd, "truncate-table") == 0 && argc == 4) {
		/* A connect, the table file truncated under the library, a connect. */
		struct sockaddr_storage ss;
		socklen_t len;
		if (numeric(argv[2], atoi(argv[3]), &ss, &len) != 0)
			return 2;
		/* A publication's name: its object in /dev/shm, truncated to
		 * PROBE_TRUNCATE_TO bytes (0 if unset). */
		const char *table = getenv("SAFESOCK_TABLE"), *to = getenv("PROBE_TRUNCATE_TO");
		char object[512];
		if (table != NULL && strchr(table, '/') == NULL) {
			snprintf(object, sizeof object, "/dev/shm/safesock.%s", table);
			table = object;
		}
		for (int round = 0; round < 2; round++) {
			if (round == 1 && (table == NULL || truncate(table, to ? atol(to) : 0) != 0))
				return say(errno);
			int fd = socket(AF_INET, SOCK_STREAM, 0);
			int rc = connect(fd, (struct sockaddr *)&ss, len);
			say(rc == 0 ? 0 : errno);
			close(fd);
		}
		return 0;
	}
	if (strcmp(cmd, "rewrite-between") == 0 && argc == 6) {
		/* A connect; one byte of the publication's object (SAFESOCK_TABLE
		 * names it) flipped at PROBE_REWRITE_AT, behind the publisher's
		 * back, as a program that can write the object could; a connect. */
		const char *table = getenv("SAFESOCK_TABLE"), *at = getenv("PROBE_REWRITE_AT");
		if (table == NULL || at == NULL)
			return 2;
		char object[512];
		snprintf(object, sizeof object, "/dev/shm/safesock.%s", table);
		for (int round = 0; round < 2; round++) {
			if (round == 1) {
				int o = open(object, O_RDWR);
				unsigned char byte;
				if (o < 0 || pread(o, &byte, 1, atol(at)) != 1)
					return say(errno);
				byte ^= 1;
				if (pwrite(o, &byte, 1, atol(at)) != 1)
					return say(errno);
				close(o);
			}
			struct sockaddr_storage ss;
			socklen_t len;
			if (numeric(argv[2 + 2 * round], atoi(argv[3 + 2 * round]), &ss, &len) != 0)
				return 2;
			int fd = socket(AF_INET, SOCK_STREAM, 0);
			int rc = connect(fd, (struct sockaddr *)&ss, len);
			say(rc == 0 ? 0 : errno);
			close(fd);
		}
		return 0;
	}
	if (strcmp(cmd, "bind") == 0 && argc == 3) {
		struct sockaddr_storage ss;
		socklen_t len;
		numeric("127.0.0.1", atoi(argv[2]), &ss, &len);
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		int one = 1;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
		return say(bind(fd, (struct sockaddr *)&ss, len) == 0 ? 0 : errno);
	}
	if (strcmp(cmd, "listen") == 0 && argc == 2) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		return say(listen(fd, 4) == 0 ? 0 : errno);
	}
	if (strcmp(cmd, "gethostbyname") == 0 && argc == 3) {
		struct hostent *h = gethostbyname(argv[2]);
		if (h == NULL) {
			printf("h_errno %d\n", h_errno);
			return 1;
		}
		char text[INET6_ADDRSTRLEN];
		printf("ok %s\n", inet_ntop(h->h_addrtype, h->h_addr_list[0], text, sizeof text));
		return 0;
	}
	if (strcmp(cmd, "getservbyname") == 0 && argc == 3) {
		struct servent *s = getservbyname(argv[2], "tcp");
		printf(s ? "ok %d\n" : "none\n", s ? ntohs((unsigned short)s->s_port) : 0);
		return s ? 0 : 1;
	}
	if (strcmp(cmd, "threads") == 0 && argc == 8) {
		int n = atoi(argv[2]);
		_Atomic int counts[6] = { 0 };
		struct job job = { { argv[3], argv[5] }, { argv[4], argv[6] }, atoi(argv[7]), counts };
		pthread_t threads[64];
		for (int i = 0; i < n && i < 64; i++)
			pthread_create(&threads[i], NULL, worker, &job);
		for (int i = 0; i < n && i < 64; i++)
			pthread_join(threads[i], NULL);
		printf("A ok %d eacces %d other %d\nB ok %d eacces %d other %d\n", counts[0], counts[1], counts[2], counts[3],
		       counts[4], counts[5]);
		return 0;
	}
	if (strcmp(cmd, "fork") == 0 && argc == 4) {
		fflush(stdout);
		pid_t child = fork();
		if (child == 0)
			_exit(say(resolve_connect(argv[2], argv[3])));
		int status;
		waitpid(child, &status, 0);
		return WIFEXITED(status) ? WEXITSTATUS(status) : 3;
	}
	if (strcmp(cmd, "spawn") == 0 && argc == 4) {
		char *args[5], *empty[] = { NULL };
		exec_probe_argv(args, argv[2], argv[3]);
		pid_t child;
		fflush(stdout);
		int rc = posix_spawn(&child, self, NULL, NULL, args, empty);
		return rc != 0 ? say(rc) : child_status(child);
	}
	if (strcmp(cmd, "vfork") == 0 && argc == 4) {
		char *args[5], *empty[] = { NULL };
		exec_probe_argv(args, argv[2], argv[3]);
		fflush(stdout);
		pid_t child = vfork();
		if (child == 0) {
			execve(self, args, empty);
			_exit(127);
		}
		return child_status(child);
	}
	if (strcmp(cmd, "system") == 0 && argc == 4) {
		char command[8192];
		snprintf(command, sizeof command, "'%s' connect '%s' '%s'", self, argv[2], argv[3]);
		clearenv();
		fflush(stdout);
		int status = system(command);
		return WIFEXITED(status) ? WEXITSTATUS(status) : 3;
	}
	if (strcmp(cmd, "escape") == 0 && argc == 4) {
		char *args[5];
		char *env[] = { "SAFESOCK_MODE=learn", "SAFESOCK_TABLE=/nonexistent", "LD_PRELOAD=", NULL };
		exec_probe_argv(args, argv[2], argv[3]);
		fflush(stdout);
		execve(self, args, env);
		return say(errno);
	}
	if (strcmp(cmd, "maxsockets") == 0 && argc == 4) {
		int port = atoi(argv[3]), fd[4] = { -1, -1, -1, -1 }, extra = -1;
		for (int i = 0; i < 3; i++)
			printf("connect %d: %d\n", i, connect_numeric(argv[2], port, 1, &fd[i]));
		printf("fourth: %d\n", connect_numeric(argv[2], port, 1, &fd[3]));
		printf("dup when full: %d\n", dup(fd[0]) >= 0 ? 0 : errno);
		close(fd[0]);
		printf("after close: %d\n", connect_numeric(argv[2], port, 1, &fd[3]));
		printf("fifth: %d\n", connect_numeric(argv[2], port, 1, &extra));
		printf("dup2 over a held one: %d\n", dup2(fd[1], fd[2]) >= 0 ? 0 : errno);
		printf("still full: %d\n", connect_numeric(argv[2], port, 1, &extra));
		printf("close_range: %d\n", close_range((unsigned)fd[3], (unsigned)fd[3], 0) == 0 ? 0 : errno);
		printf("after close_range: %d\n", connect_numeric(argv[2], port, 1, &extra));
		return 0;
	}
	if (strcmp(cmd, "signals") == 0 && argc == 6) {
		denied_port = atoi(argv[4]);
		int rounds = atoi(argv[5]), resolved = 0;
		struct sigaction sa = { .sa_handler = connect_in_handler, .sa_flags = SA_RESTART };
		sigemptyset(&sa.sa_mask);
		sigaction(SIGALRM, &sa, NULL);
		struct itimerval every = { { 0, 500 }, { 0, 500 } }, off = { { 0, 0 }, { 0, 0 } };
		setitimer(ITIMER_REAL, &every, NULL);
		for (int i = 0; i < rounds; i++) {
			struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res;
			if (getaddrinfo(argv[2], argv[3], &hints, &res) == 0) {
				resolved++;
				freeaddrinfo(res);
			}
		}
		setitimer(ITIMER_REAL, &off, NULL);
		printf("resolved %d of %d, signals %d\n", resolved, rounds, atomic_load(&signals_handled));
		return 0;
	}
	if (strcmp(cmd, "stress") == 0 && argc == 8) {
		static struct stress st;
		st.host = argv[4];
		st.port_a = atoi(argv[5]);
		st.port_b = atoi(argv[6]);
		st.rounds = atoi(argv[3]);
		st.final_allow = strcmp(argv[7], "allow") == 0;
		signal(SIGUSR1, on_final);
		int n = atoi(argv[2]);
		pthread_t threads[64];
		printf("started\n");
		fflush(stdout);
		for (int i = 0; i < n && i < 64; i++)
			pthread_create(&threads[i], NULL, stress_worker, &st);
		for (int i = 0; i < n && i < 64; i++)
			pthread_join(threads[i], NULL);
		printf("a allowed %ld denied %ld other %ld\nb denied %ld other %ld\nafter %ld wrong %ld\n", st.a_allowed,
		       st.a_denied, st.a_other, st.b_denied, st.b_other, st.after, st.wrong);
		return 0;
	}
	fprintf(stderr, "probe: bad arguments\n");
	return 2;
}
