/*
 * safesock_kernel.h: the kernel backstop's system side (kernel.c), for
 * `safesock run --kernel` (Sources/SafesockCLI/Kernel.swift decides; this
 * file only traps, copies and acts). docs/enforcement.md, "The kernel
 * backstop", says what it sees and what it trusts.
 */
#ifndef SAFESOCK_KERNEL_H
#define SAFESOCK_KERNEL_H

#include <stddef.h>
#include <stdint.h>

/* Only fixed-size types here: the Swift side imports this header, and
 * <sys/socket.h> through a second module would hide Glibc's own names. */

/* A nameserver of /etc/resolv.conf, where safesock answers DNS in the
 * program's namespace. */
#define SAFESOCK_KERNEL_MAX_NAMESERVERS 3
struct safesock_kernel_nameserver {
	uint8_t family; /* 4 or 6 */
	uint8_t address[16];
};

/* A program started under the filter, and the supervisor's end of it. */
struct safesock_kernel_child {
	int32_t pid;
	int pidfd;        /* readable when the child exits */
	int listener;     /* seccomp user-notification fd */
	int landlock;     /* the Landlock ABI of the wall, or -1 when none was built */
	int namespace;    /* 1: the program has a network namespace of its own (with only a loopback) */
	int user_namespace; /* 1: made inside a user namespace (an ordinary user) */
	int capabilities; /* 0: every capability set and the bounding set empty; 1: the bounding set could not be emptied (an ordinary user without a namespace); -1: not dropped */
	uint64_t network;  /* the inode of the program's network namespace (namespace 1) */
	uint64_t network_cookie; /* its SO_NETNS_COOKIE (Linux 5.14), read from a DNS socket; 0 unknown */
	int dns_count;
	int dns_udp[SAFESOCK_KERNEL_MAX_NAMESERVERS]; /* safesock's DNS sockets, bound at the nameservers' port 53 in that namespace */
	int dns_tcp[SAFESOCK_KERNEL_MAX_NAMESERVERS];
	int namespace_error; /* errno of the namespace that could not be made (fallback), else 0 */
	int read_only_publications; /* 1: the program's /dev/shm is read-only */
};

/* What the filter traps beyond connect and the sends (`trap` below). */
enum {
	SAFESOCK_KERNEL_TRAP_SERVERS = 1,  /* bind, listen */
	SAFESOCK_KERNEL_TRAP_PEERNAME = 2, /* getpeername */
	SAFESOCK_KERNEL_NAMESPACE = 4,     /* make the network namespace; without it, the seccomp-only fallback */
	SAFESOCK_KERNEL_REQUIRE_NAMESPACE = 8, /* and fail rather than fall back */
	SAFESOCK_KERNEL_READ_ONLY_PUBLICATIONS = 16, /* the program's /dev/shm read-only (a published table is followed) */
};

/* Starts `path` (a full path) with `argv` and `envp` under a seccomp
 * filter: connect, sendto, sendmsg and sendmmsg (and the calls `trap`
 * names) wait for this process's answer; so do io_uring_setup, making an
 * SCTP, MPTCP or raw socket, and setting a source route (IP_OPTIONS, an
 * IPv6 routing header, which would send packets first to a host no one
 * judged), for the supervisor to refuse and record. A 32-bit or x32 system
 * call fails with EPERM. With SAFESOCK_KERNEL_NAMESPACE in `trap`, first a
 * network namespace of its own (namespace.c) with safesock's DNS sockets
 * at `nameservers`, and a Landlock wall (ABI 4 or later) that lets the
 * program make no TCP connect itself: the supervisor makes them all.
 * Without a namespace, with `ports` (a bitmap of 65,536 bits, bit P for
 * port P), a Landlock wall that lets TCP connect only to those ports.
 * Every capability is dropped before exec. 0, or -1 with `error` filled. */
int safesock_kernel_spawn(const char *path, char *const argv[], char *const envp[], int trap,
			  const struct safesock_kernel_nameserver *nameservers, int nameserver_count,
			  const uint8_t *ports, struct safesock_kernel_child *child, char *error, size_t error_size);

/* For `safesock doctor`: 0 when this user can make the network
 * namespace run --kernel makes, else the errno that stops it; and the
 * Landlock ABI, or -1. */
int safesock_kernel_namespace_possible(void);
int safesock_kernel_landlock_abi(void);

/* Whether socket `fd` (ours) belongs to the program's network namespace:
 * 1 yes, 0 no or unknown. */
int safesock_kernel_socket_inside(int fd, const struct safesock_kernel_child *child);

enum safesock_kernel_op {
	SAFESOCK_KERNEL_CONNECT = 1,
	SAFESOCK_KERNEL_SENDTO,
	SAFESOCK_KERNEL_SENDMSG,
	SAFESOCK_KERNEL_SENDMMSG,
	SAFESOCK_KERNEL_BIND,
	SAFESOCK_KERNEL_LISTEN,
	SAFESOCK_KERNEL_GETPEERNAME,
	/* Refused outright (the filter sends only these kinds): */
	SAFESOCK_KERNEL_SOCKET,     /* SCTP, MPTCP or raw */
	SAFESOCK_KERNEL_SETSOCKOPT, /* a source route */
	SAFESOCK_KERNEL_IO_URING,   /* io_uring_setup */
};

/* One trapped call: what the notification says (receive), then what the
 * supervisor needs to judge it, copied out of the caller (inspect): its
 * socket (our duplicate, by pidfd_getfd), that socket's domain and type,
 * and the destination. */
struct safesock_kernel_call {
	uint64_t id;
	int32_t pid;
	uint64_t instruction;    /* where the call was made from */
	int op;                  /* enum safesock_kernel_op */
	int socket;              /* our duplicate of the caller's socket; -1 if it has none */
	int domain, type;        /* SO_DOMAIN, SO_TYPE of that socket */
	int protocol;            /* SO_PROTOCOL (IPPROTO_TCP: the one whose sends ignore the address) */
	int flags;               /* the send flags */
	int socket_error;        /* 0, or why there is no duplicate: EBADF (no such descriptor), ENOTSOCK, or what pidfd_getfd said */
	int inside;              /* 1: the socket is in the program's own network namespace (checked, SIOCGSKNS) */
	int close_on_exec;       /* the caller's descriptor has FD_CLOEXEC (what a socket put in its place keeps) */
	int status_flags;        /* its file's status flags (O_NONBLOCK...), read with close_on_exec; -1: not read */
	int has_address;         /* 1: copied below; 0: none given; -errno: as the kernel would fail */
	uint32_t address_length;
	uint8_t address[128];    /* a struct sockaddr_storage's bytes */
	uint64_t args[6];
};

/* Waits for the next trapped call: 1 with `call` filled; 0 when the child
 * has exited; -1 on an error (errno set). A call whose caller vanished
 * meanwhile is skipped. */
int safesock_kernel_receive(const struct safesock_kernel_child *child, struct safesock_kernel_call *call);

/* Copies the socket and the address out of the caller, and tells whether
 * the socket is in network namespace `network` (0: no namespace): 0, or -1
 * when the call is no longer pending (nothing to answer). */
int safesock_kernel_inspect(int listener, struct safesock_kernel_call *call, const struct safesock_kernel_child *child);

/* A destination as Linux reads a sockaddr for an inet socket of `domain`
 * and `type` (connect: `connecting` 1; a send's name: 0): kind 4 or 6 with
 * the address (IPv4-mapped IPv6 as IPv4) and port; DISSOLVE (connect with
 * AF_UNSPEC); PEER (a send's AF_UNSPEC name on IPv6: no address). */
enum { SAFESOCK_KERNEL_PEER = 1, SAFESOCK_KERNEL_DISSOLVE = 2 };
struct safesock_kernel_destination {
	int kind;
	uint8_t address[16];
	uint16_t port;
};
/* 0 with `out`, or the errno the kernel fails such an address with. */
int safesock_kernel_destination(int domain, int type, int connecting, const uint8_t *address, uint32_t length,
				struct safesock_kernel_destination *out);

/* The names process `pid` remembered for an address (4 or 16 bytes), read
 * out of its name memory at `memory` (safesock_name_memory.h): written to
 * `out` one after another, each NUL-terminated; returns how many. Hints
 * only: the program can write anything there. */
int safesock_kernel_names(int32_t pid, uint64_t memory, const uint8_t *address, size_t length, char *out, size_t size);

/* Lets the call go on as made. Only for calls whose arguments in memory
 * cannot change what is reached (kernel.c says which). */
int safesock_kernel_continue(int listener, struct safesock_kernel_call *call);

/* getpeername under `peername mask`: the kernel's own answer decides
 * whether it succeeds (ENOTCONN stays ENOTCONN), and on success the
 * caller gets the unspecified address of the socket's family, port 0. */
int safesock_kernel_masked_peer(int listener, struct safesock_kernel_call *call);

/* Fails the call with `error` (an errno value). */
int safesock_kernel_fail(int listener, struct safesock_kernel_call *call, int error);

/* A connect made outside: a new socket in this process's namespace like
 * the caller's (domain, type, protocol, O_NONBLOCK, the options that
 * matter, a loopback source address), connected by a worker thread to
 * `to`, the destination that was judged (never the caller's bytes), and
 * installed in the caller at its socket's number (SECCOMP_IOCTL_NOTIF_ADDFD,
 * SETFD), whatever that number holds by then. The call returns the
 * connect's result (EINPROGRESS for a non-blocking socket, which
 * completes on the installed one). */
int safesock_kernel_connect_outside(int listener, struct safesock_kernel_call *call, const struct safesock_kernel_destination *to);

/* A connect made here, on our duplicate of the caller's socket: to `to`
 * (built from what was judged), or with `to` NULL the copied address as it
 * is (a socket that is not inet; a path relative to the caller's
 * directory is made relative to it). */
int safesock_kernel_connect_here(int listener, struct safesock_kernel_call *call, const struct safesock_kernel_destination *to);

/* A send made for the caller: sendto with an address, sendmsg and
 * sendmmsg on a socket whose sends can reach a host. Its messages are
 * copied out of the caller whole (names, data, control), judged message
 * by message from the copy, and sent from the copy, so that what the
 * caller's memory says meanwhile never matters. */
#define SAFESOCK_KERNEL_MAX_MESSAGES 64    /* a longer sendmmsg sends these, and says so */
#define SAFESOCK_KERNEL_MAX_SEND (64 * 1024) /* data and control of a call; more: EMSGSIZE */
#define SAFESOCK_KERNEL_MAX_CONTROL 4096   /* a message's control; more: ENOBUFS */
struct safesock_kernel_send;
struct safesock_kernel_message {
	int has_address;         /* 1: `address` holds the copied name; 0: none (a connected peer) */
	uint32_t address_length;
	uint8_t address[128];
	int source_route;        /* its control asks for IP_RETOPTS or an IPv6 routing header */
	size_t data_offset, data_length, control_offset, control_length;
};

/* Copies the call's messages: 0 with `*send` set (free it, or hand it to
 * safesock_kernel_send), or the errno the kernel would fail the call with. */
int safesock_kernel_copy_send(const struct safesock_kernel_call *call, struct safesock_kernel_send **send);
unsigned safesock_kernel_send_count(const struct safesock_kernel_send *send);
const struct safesock_kernel_message *safesock_kernel_send_message(const struct safesock_kernel_send *send, unsigned i);
/* Sends only the first `count` (a denied message ends a sendmmsg there). */
void safesock_kernel_send_keep(struct safesock_kernel_send *send, unsigned count);
void safesock_kernel_send_free(struct safesock_kernel_send *send);

/* Message `i` goes to `to` (built from what was judged, never the
 * caller's bytes; NULL or PEER: to the connected peer). */
void safesock_kernel_send_address(struct safesock_kernel_send *send, unsigned i, int domain,
				  const struct safesock_kernel_destination *to);
/* Every message to the connected peer, without control (a stream send). */
void safesock_kernel_send_strip(struct safesock_kernel_send *send);
/* Whether a control message passes descriptors or credentials, which a
 * send made here would pass as this process's. */
int safesock_kernel_send_passes_descriptors(const struct safesock_kernel_send *send);

/* Sends the copies from a thread of this process and answers the call
 * with the result (sendmmsg's msg_len fields are written back). With
 * `install_outside`, first a new datagram socket like the caller's, in
 * this process's namespace, is put in the caller's socket's place and the
 * copies go from it (so replies come back to the program); else from our
 * duplicate. Takes `send`. */
int safesock_kernel_send(int listener, struct safesock_kernel_call *call, struct safesock_kernel_send *send, int install_outside);

/* Stops supervising (the child's trapped calls fail from now on) and waits
 * for the child; its exit status as a shell reports it. */
int safesock_kernel_wait(struct safesock_kernel_child *child);

#endif
