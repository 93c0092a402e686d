/*
 * calls.c: what the supervisor does in the caller's stead (safesock_kernel.h):
 * connects and sends made from the copies it judged, on worker threads;
 * getpeername answered masked; the names a process remembered, read out
 * of its name memory as hints. kernel.c traps the calls and answers the
 * rest.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/un.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "kernel_private.h"
#include "safesock_abi.h"
#include "safesock_canonical.h"
#include "safesock_kernel.h"
#include "safesock_name_memory.h"
#include "safesock_source_route.h"

int safesock_kernel_names(int32_t pid, uint64_t memory, const uint8_t *address, size_t length, char *out, size_t size)
{
	uint8_t family = length == 4 ? 4 : 6, key[16] = { 0 };
	if (length != 4 && length != 16)
		return 0;
	memcpy(key, address, length);
	uint8_t entries[SAFESOCK_NAME_NEIGHBOURHOOD][SAFESOCK_NAME_ENTRY_SIZE];
	uint32_t first = safesock_name_home(family, key);
	/* The neighbourhood, wrapping at the end: at most two pieces. */
	uint32_t before_end = SAFESOCK_NAME_SLOTS - first < SAFESOCK_NAME_NEIGHBOURHOOD ? SAFESOCK_NAME_SLOTS - first
											: SAFESOCK_NAME_NEIGHBOURHOOD;
	struct iovec here = { .iov_base = entries, .iov_len = sizeof entries };
	struct iovec there[2] = {
		{ .iov_base = (void *)(uintptr_t)(memory + (uint64_t)first * SAFESOCK_NAME_ENTRY_SIZE),
		  .iov_len = (size_t)before_end * SAFESOCK_NAME_ENTRY_SIZE },
		{ .iov_base = (void *)(uintptr_t)memory,
		  .iov_len = (size_t)(SAFESOCK_NAME_NEIGHBOURHOOD - before_end) * SAFESOCK_NAME_ENTRY_SIZE },
	};
	if (process_vm_readv(pid, &here, 1, there, before_end < SAFESOCK_NAME_NEIGHBOURHOOD ? 2 : 1, 0) != (ssize_t)sizeof entries)
		return 0;
	int found = 0;
	size_t used = 0;
	for (int i = 0; i < SAFESOCK_NAME_NEIGHBOURHOOD; i++) {
		const uint8_t *e = entries[i];
		uint32_t sequence;
		memcpy(&sequence, e + SAFESOCK_NAME_SEQUENCE_OFFSET, sizeof sequence);
		size_t n = e[SAFESOCK_NAME_LENGTH_OFFSET];
		/* Being written, another address, or no room: skipped. What is
		 * read here is a hint only (its writer is the program). */
		if ((sequence & 1) || e[SAFESOCK_NAME_FAMILY_OFFSET] != family ||
		    memcmp(e + SAFESOCK_NAME_ADDRESS_OFFSET, key, length) != 0 || n == 0 || used + n + 1 > size)
			continue;
		memcpy(out + used, e + SAFESOCK_NAME_TEXT_OFFSET, n);
		out[used + n] = '\0';
		used += n + 1;
		found++;
	}
	return found;
}


int safesock_kernel_masked_peer(int listener, struct safesock_kernel_call *call)
{
	struct sockaddr_storage peer;
	socklen_t length = sizeof peer;
	if (call->socket < 0)
		return safesock_kernel_fail(listener, call, EBADF);
	if (getpeername(call->socket, (struct sockaddr *)&peer, &length) != 0)
		return safesock_kernel_fail(listener, call, errno);
	socklen_t given;
	if (safesock_kernel_copy_in(call->pid, call->args[2], &given, sizeof given) != 0)
		return safesock_kernel_fail(listener, call, EFAULT);
	struct sockaddr_storage masked;
	memset(&masked, 0, sizeof masked);
	masked.ss_family = (sa_family_t)call->domain;
	socklen_t full = call->domain == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
	/* Written as the kernel writes: at most what the caller gave room for,
	 * and the full length back. */
	struct iovec here[2] = { { .iov_base = &masked, .iov_len = given < full ? given : full },
				 { .iov_base = &full, .iov_len = sizeof full } };
	struct iovec there[2] = { { .iov_base = (void *)(uintptr_t)call->args[1], .iov_len = here[0].iov_len },
				  { .iov_base = (void *)(uintptr_t)call->args[2], .iov_len = sizeof full } };
	if (process_vm_writev(call->pid, &here[0], 1, &there[0], 1, 0) != (ssize_t)here[0].iov_len ||
	    process_vm_writev(call->pid, &here[1], 1, &there[1], 1, 0) != (ssize_t)sizeof full)
		return safesock_kernel_fail(listener, call, EFAULT);
	safesock_kernel_release(call);
	return safesock_kernel_respond(listener, call->id, 0, 0, 0);
}


/* The messages of a send, copied out of the caller: what the supervisor
 * judges is what it sends, whatever the caller's memory says meanwhile. */
struct safesock_kernel_send {
	unsigned count;
	uint64_t vector; /* sendmmsg: the caller's array, where msg_len goes back */
	struct safesock_kernel_message messages[SAFESOCK_KERNEL_MAX_MESSAGES];
	size_t used;
	uint8_t bytes[]; /* every message's data, then its control */
};

/* One message as the caller wrote it: a struct msghdr's fields. */
struct their_message {
	uint64_t name;
	uint32_t name_length;
	uint64_t iov;
	uint64_t iov_count;
	uint64_t control;
	uint64_t control_length;
};

/* The caller's messages (at most SAFESOCK_KERNEL_MAX_MESSAGES; a longer
 * sendmmsg is cut there, as the kernel may send fewer than asked). */
static int their_messages(const struct safesock_kernel_call *call, struct their_message *out, unsigned *count)
{
	if (call->op == SAFESOCK_KERNEL_SENDTO) {
		/* One buffer, as one iovec that lives here: `iov` 0 marks it. */
		out[0] = (struct their_message){ .name = call->args[4], .name_length = (uint32_t)call->args[5],
						 .iov = 0, .iov_count = call->args[2], .control = 0 };
		if (call->args[5] > UINT32_MAX)
			return EINVAL;
		*count = 1;
		return 0;
	}
	unsigned n = call->op == SAFESOCK_KERNEL_SENDMSG ? 1 : (unsigned)(call->args[2] < SAFESOCK_KERNEL_MAX_MESSAGES
									 ? call->args[2] : SAFESOCK_KERNEL_MAX_MESSAGES);
	for (unsigned i = 0; i < n; i++) {
		struct msghdr h;
		uint64_t at = call->args[1] + (uint64_t)i * (call->op == SAFESOCK_KERNEL_SENDMSG ? sizeof h : sizeof(struct mmsghdr));
		if (safesock_kernel_copy_in(call->pid, at, &h, sizeof h) != 0)
			return EFAULT;
		out[i] = (struct their_message){ .name = (uint64_t)(uintptr_t)h.msg_name, .name_length = h.msg_namelen,
						 .iov = (uint64_t)(uintptr_t)h.msg_iov, .iov_count = h.msg_iovlen,
						 .control = (uint64_t)(uintptr_t)h.msg_control, .control_length = h.msg_controllen };
		if (h.msg_name == NULL || h.msg_namelen == 0) /* the kernel's reading: no address */
			out[i].name = 0, out[i].name_length = 0;
		if (out[i].name_length > sizeof(struct sockaddr_storage)) /* the kernel reads no more (sendto refuses more) */
			out[i].name_length = sizeof(struct sockaddr_storage);
	}
	*count = n;
	return 0;
}

/* Whether control messages ask for a source route (IP_RETOPTS, an IPv6
 * routing header): the packet would go first to a host no one judged. */
static int source_routed(void *control, size_t length)
{
	struct msghdr h = { .msg_control = control, .msg_controllen = length };
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&h); c != NULL; c = CMSG_NXTHDR(&h, c)) {
		if (safesock_is_source_route(c->cmsg_level, c->cmsg_type))
			return 1;
	}
	return 0;
}

int safesock_kernel_copy_send(const struct safesock_kernel_call *call, struct safesock_kernel_send **out)
{
	struct their_message m[SAFESOCK_KERNEL_MAX_MESSAGES];
	unsigned n = 0;
	int error = their_messages(call, m, &n);
	if (error != 0)
		return error;
	/* Sizes first, from the iovecs: nothing is allocated for a call that
	 * asks too much. */
	static _Thread_local struct iovec vectors[IOV_MAX];
	size_t total = 0;
	for (unsigned i = 0; i < n; i++) {
		if (m[i].name_length > sizeof((struct safesock_kernel_message *)0)->address)
			return EINVAL;
		if (m[i].control_length > SAFESOCK_KERNEL_MAX_CONTROL)
			return ENOBUFS;
		if (m[i].iov == 0) {
			if (m[i].iov_count > SAFESOCK_KERNEL_MAX_SEND)
				return EMSGSIZE;
			total += m[i].iov_count;
		} else {
			if (m[i].iov_count > IOV_MAX)
				return EMSGSIZE;
			if (m[i].iov_count > 0 && safesock_kernel_copy_in(call->pid, m[i].iov, vectors, m[i].iov_count * sizeof *vectors) != 0)
				return EFAULT;
			for (uint64_t v = 0; v < m[i].iov_count; v++) {
				if (vectors[v].iov_len > SAFESOCK_KERNEL_MAX_SEND)
					return EMSGSIZE;
				total += vectors[v].iov_len;
			}
		}
		total += m[i].control_length;
		if (total > SAFESOCK_KERNEL_MAX_SEND)
			return EMSGSIZE;
	}
	struct safesock_kernel_send *send = calloc(1, sizeof *send + total);
	if (send == NULL)
		return ENOMEM;
	send->count = n;
	send->vector = call->op == SAFESOCK_KERNEL_SENDMMSG ? call->args[1] : 0;
	for (unsigned i = 0; i < n; i++) {
		struct safesock_kernel_message *message = &send->messages[i];
		if (m[i].name != 0) {
			message->has_address = 1;
			message->address_length = m[i].name_length;
			if (safesock_kernel_copy_in(call->pid, m[i].name, message->address, m[i].name_length) != 0)
				goto fault;
		}
		message->data_offset = send->used;
		if (m[i].iov == 0) {
			if (m[i].iov_count > 0 && safesock_kernel_copy_in(call->pid, call->args[1], send->bytes + send->used, m[i].iov_count) != 0)
				goto fault;
			send->used += m[i].iov_count;
		} else if (m[i].iov_count > 0) {
			/* Read again: the lengths must be the ones that were counted. */
			if (safesock_kernel_copy_in(call->pid, m[i].iov, vectors, m[i].iov_count * sizeof *vectors) != 0)
				goto fault;
			for (uint64_t v = 0; v < m[i].iov_count; v++) {
				size_t length = vectors[v].iov_len;
				if (length > total - send->used)
					goto fault; /* changed since they were counted */
				if (length > 0 && safesock_kernel_copy_in(call->pid, (uint64_t)(uintptr_t)vectors[v].iov_base, send->bytes + send->used, length) != 0)
					goto fault;
				send->used += length;
			}
		}
		message->data_length = send->used - message->data_offset;
		message->control_offset = send->used;
		message->control_length = (size_t)m[i].control_length;
		if (message->control_length > 0) {
			if (message->control_length > total - send->used ||
			    safesock_kernel_copy_in(call->pid, m[i].control, send->bytes + send->used, message->control_length) != 0)
				goto fault;
			message->source_route = source_routed(send->bytes + send->used, message->control_length);
			send->used += message->control_length;
		}
	}
	*out = send;
	return 0;
fault:
	free(send);
	return EFAULT;
}

unsigned safesock_kernel_send_count(const struct safesock_kernel_send *send)
{
	return send->count;
}

const struct safesock_kernel_message *safesock_kernel_send_message(const struct safesock_kernel_send *send, unsigned i)
{
	return i < send->count ? &send->messages[i] : NULL;
}

void safesock_kernel_send_keep(struct safesock_kernel_send *send, unsigned count)
{
	if (count < send->count)
		send->count = count;
}

void safesock_kernel_send_free(struct safesock_kernel_send *send)
{
	free(send);
}

/* A connect or send made for the caller, by one of a few worker threads: a
 * blocking connect must not stop the supervisor answering others, and a
 * thread made per call cost more than the call. Each waiting caller has
 * at most one job queued, so the queue is bounded by the callers. */
struct job {
	struct job *next;
	int listener;
	struct safesock_kernel_call call;
	struct safesock_kernel_send *send; /* NULL: a connect */
	int outside;                       /* >= 0: our new socket, installed in the caller in its socket's place */
	int install_first;                 /* a send: install `outside` before sending from it */
	int in_progress;                   /* a connect: `outside`'s is under way; wait for it, then make it blocking */
	uint8_t to[sizeof(struct sockaddr_storage)]; /* a connect: where, built from what was judged */
	socklen_t to_length;
};

#define WORKERS 4
static pthread_mutex_t queue_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t queue_ready = PTHREAD_COND_INITIALIZER;
static struct job *queue_head, *queue_tail;
static int workers_started;

static void run_job(struct job *job);

static void *worker(void *unused)
{
	(void)unused;
	for (;;) {
		pthread_mutex_lock(&queue_lock);
		while (queue_head == NULL)
			pthread_cond_wait(&queue_ready, &queue_lock);
		struct job *job = queue_head;
		queue_head = job->next;
		if (queue_head == NULL)
			queue_tail = NULL;
		pthread_mutex_unlock(&queue_lock);
		run_job(job);
	}
	return NULL;
}

/* 0, or -1 when no worker could be started. */
static int enqueue(struct job *job)
{
	pthread_mutex_lock(&queue_lock);
	while (workers_started < WORKERS) {
		pthread_t thread;
		pthread_attr_t attributes;
		pthread_attr_init(&attributes);
		pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
		int rc = pthread_create(&thread, &attributes, worker, NULL);
		pthread_attr_destroy(&attributes);
		if (rc != 0)
			break;
		workers_started++;
	}
	if (workers_started == 0) {
		pthread_mutex_unlock(&queue_lock);
		return -1;
	}
	job->next = NULL;
	if (queue_tail != NULL)
		queue_tail->next = job;
	else
		queue_head = job;
	queue_tail = job;
	pthread_cond_signal(&queue_ready);
	pthread_mutex_unlock(&queue_lock);
	return 0;
}

/* Sends the copied messages on our duplicate of the caller's socket: the
 * result the caller's call returns. */
static int64_t send_copies(const struct safesock_kernel_call *c, struct safesock_kernel_send *send)
{
	struct iovec data[SAFESOCK_KERNEL_MAX_MESSAGES];
	struct mmsghdr headers[SAFESOCK_KERNEL_MAX_MESSAGES];
	memset(headers, 0, sizeof headers);
	for (unsigned i = 0; i < send->count; i++) {
		struct safesock_kernel_message *m = &send->messages[i];
		data[i] = (struct iovec){ .iov_base = send->bytes + m->data_offset, .iov_len = m->data_length };
		struct msghdr *h = &headers[i].msg_hdr;
		h->msg_iov = &data[i];
		h->msg_iovlen = 1;
		if (m->has_address) {
			h->msg_name = m->address;
			h->msg_namelen = m->address_length;
		}
		if (m->control_length > 0) {
			h->msg_control = send->bytes + m->control_offset;
			h->msg_controllen = m->control_length;
		}
	}
	int flags = c->flags | MSG_NOSIGNAL; /* a SIGPIPE would be ours, not the caller's */
	if (c->op != SAFESOCK_KERNEL_SENDMMSG)
		return sendmsg(c->socket, &headers[0].msg_hdr, flags);
	int sent = sendmmsg(c->socket, headers, send->count, flags);
	for (int i = 0; i < sent; i++) {
		/* What the caller's sendmmsg would have written back. */
		uint64_t at = send->vector + (uint64_t)i * sizeof(struct mmsghdr) + offsetof(struct mmsghdr, msg_len);
		struct iovec here = { .iov_base = &headers[i].msg_len, .iov_len = sizeof headers[i].msg_len };
		struct iovec there = { .iov_base = (void *)(uintptr_t)at, .iov_len = sizeof headers[i].msg_len };
		process_vm_writev(c->pid, &here, 1, &there, 1, 0);
	}
	return sent;
}

/* Puts `fd` (ours) in the caller at the number of its socket, whatever is
 * there now: the caller's later calls on that number reach our socket. */
static int install(int listener, const struct safesock_kernel_call *c, int fd)
{
	struct seccomp_notif_addfd addfd = {
		.id = c->id, .flags = SECCOMP_ADDFD_FLAG_SETFD, .srcfd = (uint32_t)fd,
		.newfd = (uint32_t)c->args[0], .newfd_flags = c->close_on_exec ? O_CLOEXEC : 0,
	};
	return ioctl(listener, SECCOMP_IOCTL_NOTIF_ADDFD, &addfd) < 0 ? -1 : 0;
}

static void run_job(struct job *job)
{
	struct safesock_kernel_call *c = &job->call;
	int64_t value;
	int error = 0;
	if (job->send == NULL && job->in_progress) {
		/* A blocking connect under way: as long as the caller's socket
		 * would wait (its send timeout bounds a connect), then blocking. */
		struct timeval limit = { 0 };
		socklen_t n = sizeof limit;
		getsockopt(job->outside, SOL_SOCKET, SO_SNDTIMEO, &limit, &n);
		int wait = limit.tv_sec == 0 && limit.tv_usec == 0 ? -1 : (int)(limit.tv_sec * 1000 + limit.tv_usec / 1000);
		struct pollfd p = { .fd = job->outside, .events = POLLOUT };
		int ready = poll(&p, 1, wait);
		int failed = 0;
		n = sizeof failed;
		if (ready == 0)
			failed = EINPROGRESS; /* as the kernel says when a blocking connect times out */
		else if (ready < 0 || getsockopt(job->outside, SOL_SOCKET, SO_ERROR, &failed, &n) != 0)
			failed = errno;
		fcntl(job->outside, F_SETFL, fcntl(job->outside, F_GETFL) & ~O_NONBLOCK);
		value = failed == 0 ? 0 : -1;
		error = failed;
		if (value == 0 && install(job->listener, c, job->outside) != 0) {
			error = errno == ENOENT ? 0 : errno, value = -1;
			if (error == 0)
				goto done;
		}
	} else if (job->send == NULL) {
		int fd = job->outside >= 0 ? job->outside : c->socket;
		value = connect(fd, (const struct sockaddr *)job->to, job->to_length);
		error = value < 0 ? errno : 0;
		/* Installed once it connects or is on its way (a non-blocking
		 * socket completes there); a connect that failed leaves the
		 * caller's own socket as it was. */
		if (job->outside >= 0 && (value == 0 || error == EINPROGRESS) && install(job->listener, c, job->outside) != 0) {
			error = errno == ENOENT ? 0 : errno, value = -1;
			if (error == 0) /* the caller is gone: nothing to answer */
				goto done;
		}
	} else {
		if (job->outside >= 0 && job->install_first && install(job->listener, c, job->outside) != 0) {
			error = errno;
			if (error == ENOENT)
				goto done;
			value = -1;
		} else {
			if (job->outside >= 0) {
				close(c->socket);
				c->socket = job->outside, job->outside = -1;
			}
			value = send_copies(c, job->send);
			error = value < 0 ? errno : 0;
		}
	}
	safesock_kernel_respond(job->listener, c->id, value < 0 ? 0 : value, -error, 0);
done:
	if (job->outside >= 0)
		close(job->outside);
	safesock_kernel_release(c);
	free(job->send);
	free(job);
}

/* Hands the call (and its socket, and `send`, and `outside`) to a worker. */
static int start_job(int listener, struct safesock_kernel_call *call, struct safesock_kernel_send *send, int outside,
		     const void *to, socklen_t to_length)
{
	struct job *job = calloc(1, sizeof *job);
	if (job == NULL) {
		free(send);
		if (outside >= 0)
			close(outside);
		return safesock_kernel_fail(listener, call, ENOMEM);
	}
	job->listener = listener;
	job->call = *call;
	job->send = send;
	job->outside = outside;
	job->install_first = outside >= 0;
	job->in_progress = send == NULL && to == NULL && outside >= 0;
	if (to != NULL) {
		memcpy(job->to, to, to_length);
		job->to_length = to_length;
	}
	call->socket = -1; /* the job owns it now */
	if (enqueue(job) != 0) {
		*call = job->call;
		free(send);
		if (outside >= 0)
			close(outside);
		free(job);
		return safesock_kernel_fail(listener, call, EAGAIN);
	}
	return 0;
}

int safesock_kernel_destination(int domain, int type, int connecting, const uint8_t *bytes, uint32_t length,
				struct safesock_kernel_destination *out)
{
	/* As Linux reads a sockaddr for inet sockets (inet_stream_connect,
	 * inet_dgram_connect, tcp_v4/v6_connect, ip4/ip6_datagram_connect,
	 * udp_sendmsg, udpv6_sendmsg), so that what is judged is what the
	 * kernel would have used; what is then made is built from `out`. */
	memset(out, 0, sizeof *out);
	if (length < sizeof(sa_family_t))
		return EINVAL;
	sa_family_t family;
	memcpy(&family, bytes, sizeof family);
	int stream = type == SOCK_STREAM;
	if (connecting && family == AF_UNSPEC) {
		out->kind = SAFESOCK_KERNEL_DISSOLVE;
		return 0;
	}
	int v4 = domain == AF_INET || (domain == AF_INET6 && family == AF_INET && !stream);
	if (domain == AF_INET6 && !v4) {
		if (!connecting && family == AF_UNSPEC) {
			out->kind = SAFESOCK_KERNEL_PEER; /* udpv6_sendmsg: no address at all */
			return 0;
		}
		if (length < SAFESOCK_SIN6_LEN_RFC2133) /* no scope id needed */
			return EINVAL;
		if (family != AF_INET6)
			return connecting ? EAFNOSUPPORT : EINVAL;
		struct sockaddr_in6 a;
		memset(&a, 0, sizeof a);
		memcpy(&a, bytes, length < sizeof a ? length : sizeof a);
		/* IPv4-mapped and IPv4-compatible (but :: and ::1) are IPv4, as
		 * every enforcer judges them (the one canonicaliser). */
		out->kind = safesock_canonical_address(6, a.sin6_addr.s6_addr, out->address);
		out->port = ntohs(a.sin6_port);
		return 0;
	}
	if (domain != AF_INET && domain != AF_INET6)
		return EAFNOSUPPORT;
	if (length < sizeof(struct sockaddr_in))
		return EINVAL;
	/* udp_sendmsg takes AF_UNSPEC as AF_INET; connect does not. */
	if (family != AF_INET && (connecting || family != AF_UNSPEC || domain != AF_INET))
		return EAFNOSUPPORT;
	struct sockaddr_in a;
	memcpy(&a, bytes, sizeof a);
	out->kind = safesock_canonical_address(4, (const uint8_t *)&a.sin_addr, out->address);
	out->port = ntohs(a.sin_port);
	return 0;
}

/* The sockaddr for a socket of `domain` that reaches `to`: IPv4 as
 * IPv4-mapped on an IPv6 socket; never a scope id (the caller's interface
 * numbers are its namespace's). */
static socklen_t build_address(int domain, const struct safesock_kernel_destination *to, void *out)
{
	memset(out, 0, sizeof(struct sockaddr_storage));
	if (to->kind == SAFESOCK_KERNEL_DISSOLVE) {
		((struct sockaddr *)out)->sa_family = AF_UNSPEC;
		return sizeof(struct sockaddr);
	}
	if (domain == AF_INET) {
		struct sockaddr_in *a = out;
		a->sin_family = AF_INET;
		a->sin_port = htons(to->port);
		memcpy(&a->sin_addr, to->address, 4);
		return sizeof *a;
	}
	struct sockaddr_in6 *a = out;
	a->sin6_family = AF_INET6;
	a->sin6_port = htons(to->port);
	if (to->kind == 4) {
		a->sin6_addr.s6_addr[10] = a->sin6_addr.s6_addr[11] = 0xff;
		memcpy(a->sin6_addr.s6_addr + 12, to->address, 4);
	} else {
		memcpy(a->sin6_addr.s6_addr, to->address, 16);
	}
	return sizeof *a;
}

/* Options of the caller's socket that change how a connection behaves,
 * copied to ours where they differ from a new socket's (whose values are
 * read once a kind of socket: each getsockopt is a system call, and these
 * are most of a connect's). `when`: the kinds it is read for (a stream's
 * SO_REUSEADDR and SO_BROADCAST change nothing its connect does), or
 * WITH_KEEPALIVE: read only when SO_KEEPALIVE is on (the keep-alive timings of
 * a socket whose keep-alive a program turns on only after its connect are
 * not carried over: docs/enforcement.md says so; SO_KEEPALIVE comes
 * first in the table for this). */
enum { STREAM = 1, DATAGRAM = 2, ANY = STREAM | DATAGRAM, WITH_KEEPALIVE = 4 };
static const struct { int level, name, halve, when; } options[] = {
	{ SOL_SOCKET, SO_KEEPALIVE, 0, ANY }, { SOL_SOCKET, SO_REUSEADDR, 0, DATAGRAM }, { SOL_SOCKET, SO_BROADCAST, 0, DATAGRAM },
	{ SOL_SOCKET, SO_RCVBUF, 1, ANY }, { SOL_SOCKET, SO_SNDBUF, 1, ANY }, { SOL_SOCKET, SO_PRIORITY, 0, ANY },
	{ SOL_SOCKET, SO_OOBINLINE, 0, STREAM }, { SOL_SOCKET, SO_RCVLOWAT, 0, ANY },
	{ IPPROTO_TCP, TCP_NODELAY, 0, STREAM }, { IPPROTO_TCP, TCP_KEEPIDLE, 0, STREAM | WITH_KEEPALIVE }, { IPPROTO_TCP, TCP_KEEPINTVL, 0, STREAM | WITH_KEEPALIVE },
	{ IPPROTO_TCP, TCP_KEEPCNT, 0, STREAM | WITH_KEEPALIVE }, { IPPROTO_TCP, TCP_USER_TIMEOUT, 0, STREAM }, { IPPROTO_TCP, TCP_SYNCNT, 0, STREAM },
	{ IPPROTO_IP, IP_TOS, 0, ANY }, { IPPROTO_IP, IP_TTL, 0, ANY },
	{ IPPROTO_IPV6, IPV6_V6ONLY, 0, ANY }, { IPPROTO_IPV6, IPV6_TCLASS, 0, ANY }, { IPPROTO_IPV6, IPV6_UNICAST_HOPS, 0, ANY },
};
#define OPTIONS (sizeof options / sizeof options[0])
/* The defaults by kind: [IPv6][stream]; only the main thread makes sockets. */
static int defaults[2][2][OPTIONS];
static int defaults_read[2][2];

static void copy_options(const struct safesock_kernel_call *c, int to)
{
	int v6 = c->domain == AF_INET6, stream = c->type == SOCK_STREAM;
	if (!defaults_read[v6][stream]) {
		for (size_t i = 0; i < OPTIONS; i++) {
			socklen_t n = sizeof defaults[v6][stream][i];
			if (getsockopt(to, options[i].level, options[i].name, &defaults[v6][stream][i], &n) != 0)
				defaults[v6][stream][i] = -1; /* not this kind's: never copied */
		}
		defaults_read[v6][stream] = 1;
	}
	int kind = stream ? STREAM : DATAGRAM, keepalive = 0;
	for (size_t i = 0; i < OPTIONS; i++) {
		int theirs = 0;
		socklen_t n = sizeof theirs;
		if (!(options[i].when & kind) || ((options[i].when & WITH_KEEPALIVE) && !keepalive) ||
		    defaults[v6][stream][i] == -1 ||
		    getsockopt(c->socket, options[i].level, options[i].name, &theirs, &n) != 0)
			continue;
		if (options[i].level == SOL_SOCKET && options[i].name == SO_KEEPALIVE)
			keepalive = theirs != 0;
		if (theirs == defaults[v6][stream][i])
			continue;
		if (options[i].halve) /* the kernel doubles what it is given */
			theirs /= 2;
		setsockopt(to, options[i].level, options[i].name, &theirs, sizeof theirs);
	}
	static const int timeouts[] = { SO_RCVTIMEO, SO_SNDTIMEO, SO_LINGER };
	static const uint8_t zero[32];
	for (size_t i = 0; i < sizeof timeouts / sizeof timeouts[0]; i++) {
		uint8_t value[32];
		socklen_t n = sizeof value;
		if (getsockopt(c->socket, SOL_SOCKET, timeouts[i], value, &n) == 0 && memcmp(value, zero, n) != 0)
			setsockopt(to, SOL_SOCKET, timeouts[i], value, n);
	}
}

/* A socket in this process's namespace like the caller's: domain, type,
 * protocol, the options above, and a loopback source address it was bound
 * to (`curl --interface 127.0.0.1`; the port is not kept). The socket,
 * always non-blocking, or -1 with errno; `blocking` says whether the
 * caller's is. */
static int outside_socket(const struct safesock_kernel_call *c, int *blocking)
{
	/* Our duplicate shares the caller's file: its status flags are theirs. */
	int status = c->status_flags >= 0 ? c->status_flags : fcntl(c->socket, F_GETFL);
	*blocking = status < 0 || !(status & O_NONBLOCK);
	/* Non-blocking always, to be tried without waiting; a blocking
	 * caller's is made blocking once connected. */
	int fd = socket(c->domain, c->type | SOCK_CLOEXEC | SOCK_NONBLOCK, c->protocol);
	if (fd < 0)
		return -1;
	copy_options(c, fd);
	struct sockaddr_storage local;
	socklen_t length = sizeof local;
	if (getsockname(c->socket, (struct sockaddr *)&local, &length) == 0) {
		int loopback = 0;
		if (local.ss_family == AF_INET) {
			struct sockaddr_in *a = (struct sockaddr_in *)&local;
			loopback = (ntohl(a->sin_addr.s_addr) >> 24) == 127;
			a->sin_port = 0;
		} else if (local.ss_family == AF_INET6) {
			struct sockaddr_in6 *a = (struct sockaddr_in6 *)&local;
			loopback = IN6_IS_ADDR_LOOPBACK(&a->sin6_addr);
			a->sin6_port = 0, a->sin6_scope_id = 0;
		}
		if (loopback && bind(fd, (struct sockaddr *)&local, length) != 0) {
			int failed = errno;
			close(fd);
			errno = failed;
			return -1;
		}
	}
	return fd;
}

int safesock_kernel_connect_outside(int listener, struct safesock_kernel_call *call, const struct safesock_kernel_destination *to)
{
	if (call->socket < 0)
		return safesock_kernel_fail(listener, call, EBADF);
	int blocking;
	int fd = outside_socket(call, &blocking);
	if (fd < 0)
		return safesock_kernel_fail(listener, call, errno);
	struct sockaddr_storage address;
	socklen_t length = build_address(call->domain, to, &address);
	/* Tried here first, without waiting: most connects (loopback, a
	 * refusal) are settled at once, and a thread's hand-off would cost
	 * more than the connect. Only a blocking one still under way goes to
	 * a worker. */
	int rc = connect(fd, (const struct sockaddr *)&address, length), error = rc == 0 ? 0 : errno;
	if (blocking && error == EINPROGRESS) {
		/* A loopback handshake is done by the time connect returns (its
		 * packets are processed before the call leaves the kernel): seen
		 * at once, it needs no worker. Asked again, a non-blocking connect
		 * says 0 once established, EALREADY while under way, or why it
		 * failed (__inet_stream_connect). */
		rc = connect(fd, (const struct sockaddr *)&address, length), error = rc == 0 ? 0 : errno;
		if (error == EALREADY)
			error = EINPROGRESS;
	}
	if (blocking && error == EINPROGRESS) {
		int started = start_job(listener, call, NULL, fd, NULL, 0);
		return started;
	}
	if (blocking)
		fcntl(fd, F_SETFL, 0); /* as socket(2) made it: no status flag */
	if ((error == 0 || error == EINPROGRESS) && install(listener, call, fd) != 0) {
		error = errno;
		close(fd);
		if (error == ENOENT) { /* the caller is gone */
			safesock_kernel_release(call);
			return 0;
		}
		return safesock_kernel_fail(listener, call, error);
	}
	close(fd);
	if (error != 0)
		return safesock_kernel_fail(listener, call, error);
	/* Answered first: the caller's own socket, freed when our duplicate
	 * closes (the number holds ours now), need not be waited for. */
	int answered = safesock_kernel_respond(listener, call->id, 0, 0, 0);
	safesock_kernel_release(call);
	return answered;
}

int safesock_kernel_connect_here(int listener, struct safesock_kernel_call *call, const struct safesock_kernel_destination *to)
{
	if (call->socket < 0)
		return safesock_kernel_fail(listener, call, EBADF);
	if (to != NULL) {
		struct sockaddr_storage address;
		socklen_t length = build_address(call->domain, to, &address);
		return start_job(listener, call, NULL, -1, &address, length);
	}
	if (call->has_address != 1)
		return safesock_kernel_fail(listener, call, EINVAL);
	/* A path relative to the caller's directory, not ours. */
	struct sockaddr_un *u = (struct sockaddr_un *)call->address;
	if (call->domain == AF_UNIX && call->address_length > offsetof(struct sockaddr_un, sun_path) &&
	    u->sun_path[0] != '\0' && u->sun_path[0] != '/') {
		struct sockaddr_un full = { .sun_family = AF_UNIX };
		size_t given = strnlen(u->sun_path, call->address_length - offsetof(struct sockaddr_un, sun_path));
		int n = snprintf(full.sun_path, sizeof full.sun_path, "/proc/%d/cwd/%.*s", (int)call->pid, (int)given, u->sun_path);
		if (n < 0 || (size_t)n >= sizeof full.sun_path)
			return safesock_kernel_fail(listener, call, ENAMETOOLONG);
		return start_job(listener, call, NULL, -1, &full, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + (size_t)n + 1));
	}
	return start_job(listener, call, NULL, -1, call->address, call->address_length);
}

void safesock_kernel_send_address(struct safesock_kernel_send *send, unsigned i, int domain,
				  const struct safesock_kernel_destination *to)
{
	if (i >= send->count)
		return;
	struct safesock_kernel_message *m = &send->messages[i];
	if (to == NULL || to->kind == SAFESOCK_KERNEL_PEER) {
		m->has_address = 0, m->address_length = 0;
		return;
	}
	m->has_address = 1;
	m->address_length = build_address(domain, to, m->address);
}

void safesock_kernel_send_strip(struct safesock_kernel_send *send)
{
	for (unsigned i = 0; i < send->count; i++) {
		send->messages[i].has_address = 0;
		send->messages[i].control_length = 0;
	}
}

int safesock_kernel_send_passes_descriptors(const struct safesock_kernel_send *send)
{
	for (unsigned i = 0; i < send->count; i++) {
		const struct safesock_kernel_message *m = &send->messages[i];
		struct msghdr h = { .msg_control = (void *)(send->bytes + m->control_offset), .msg_controllen = m->control_length };
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&h); m->control_length > 0 && c != NULL; c = CMSG_NXTHDR(&h, c)) {
			if (c->cmsg_level == SOL_SOCKET && (c->cmsg_type == SCM_RIGHTS || c->cmsg_type == SCM_CREDENTIALS))
				return 1;
		}
	}
	return 0;
}

int safesock_kernel_send(int listener, struct safesock_kernel_call *call, struct safesock_kernel_send *send, int install_outside)
{
	if (call->socket < 0) {
		free(send);
		return safesock_kernel_fail(listener, call, EBADF);
	}
	if (send->count == 0) { /* sendmmsg of nothing */
		free(send);
		safesock_kernel_release(call);
		return safesock_kernel_respond(listener, call->id, 0, 0, 0);
	}
	int outside = -1;
	if (install_outside) {
		int blocking;
		outside = outside_socket(call, &blocking);
		if (outside < 0) {
			free(send);
			return safesock_kernel_fail(listener, call, errno);
		}
		if (blocking)
			fcntl(outside, F_SETFL, 0); /* installed in the caller's place: as the caller's was */
	}
	return start_job(listener, call, send, outside, NULL, 0);
}
