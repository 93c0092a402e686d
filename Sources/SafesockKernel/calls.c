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
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "kernel_private.h"
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

static void run_job(struct job *job)
{
	struct safesock_kernel_call *c = &job->call;
	int64_t value;
	if (job->send == NULL)
		value = connect(c->socket, (const struct sockaddr *)c->address, c->address_length);
	else
		value = send_copies(c, job->send);
	int error = value < 0 ? errno : 0;
	safesock_kernel_respond(job->listener, c->id, value < 0 ? 0 : value, -error, 0);
	safesock_kernel_release(c);
	free(job->send);
	free(job);
}

/* Hands the call (and its socket, and `send`) to a worker. */
static int start_job(int listener, struct safesock_kernel_call *call, struct safesock_kernel_send *send)
{
	struct job *job = malloc(sizeof *job);
	if (job == NULL) {
		free(send);
		return safesock_kernel_fail(listener, call, ENOMEM);
	}
	job->listener = listener;
	job->call = *call;
	job->send = send;
	call->socket = -1; /* the job owns it now */
	if (enqueue(job) != 0) {
		*call = job->call;
		free(send);
		free(job);
		return safesock_kernel_fail(listener, call, EAGAIN);
	}
	return 0;
}

int safesock_kernel_connect(int listener, struct safesock_kernel_call *call)
{
	if (call->socket < 0 || call->has_address != 1)
		return safesock_kernel_fail(listener, call, EINVAL);
	return start_job(listener, call, NULL);
}

int safesock_kernel_send(int listener, struct safesock_kernel_call *call, struct safesock_kernel_send *send)
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
	return start_job(listener, call, send);
}

