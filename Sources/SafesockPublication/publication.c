/*
 * publication.c: the publication protocol of safesock_publication.h.
 * Publishers serialise on flock(2); readers never wait for anyone.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "safesock_publication.h"

_Static_assert(sizeof(struct safesock_pub_control) <= SAFESOCK_PUB_CONTROL, "control page");

#define PAGE 4096u
#define READ_TRIES 16

static uint64_t round_up(uint64_t n) { return (n + PAGE - 1) / PAGE * PAGE; }

static int fail(char *error, size_t size, const char *what)
{
	snprintf(error, size, "%s: %s", what, strerror(errno));
	return -1;
}

int safesock_pub_object_name(const char *name, char *out, size_t size)
{
	size_t n = strlen(name);
	if (n == 0 || n > 200)
		return -1;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
			return -1;
	}
	return snprintf(out, size, "/safesock.%s", name) < (int)size ? 0 : -1;
}

/* The object for `name`, opened with `flags`: its descriptor, or -1 with
 * the reason in `error` (and its name in `object`). */
static int open_object(const char *name, int flags, char *object, size_t object_size, char *error, size_t error_size)
{
	if (safesock_pub_object_name(name, object, object_size) != 0) {
		snprintf(error, error_size, "bad publication name '%s': use letters, digits, '.', '_', '-'", name);
		return -1;
	}
	/* Readable by all: a policy is no secret; writable by its owner only. */
	int fd = shm_open(object, flags | O_CLOEXEC, 0644);
	if (fd < 0)
		fail(error, error_size, object);
	return fd;
}

/* Whether a mapped control page is one this code reads; if not, says so. */
static int control_is_ours(const struct safesock_pub_control *c, const char *object, char *error, size_t error_size)
{
	if (memcmp(c->magic, SAFESOCK_PUB_MAGIC, 8) == 0 && c->version == SAFESOCK_PUB_VERSION)
		return 1;
	snprintf(error, error_size, "%s is not a safesock publication of version %u", object, SAFESOCK_PUB_VERSION);
	return 0;
}

int safesock_publish_open(const char *name, struct safesock_publisher *p, char *error, size_t error_size)
{
	char object[256];
	memset(p, 0, sizeof *p);
	p->fd = open_object(name, O_RDWR | O_CREAT, object, sizeof object, error, error_size);
	if (p->fd < 0)
		return -1;
	if (flock(p->fd, LOCK_EX) != 0)
		return fail(error, error_size, "flock");
	struct stat st;
	if (fstat(p->fd, &st) != 0)
		return fail(error, error_size, "fstat");
	if (st.st_size == 0) {
		uint64_t capacity = 64 * 1024;
		if (ftruncate(p->fd, (off_t)(SAFESOCK_PUB_CONTROL + 2 * capacity)) != 0)
			return fail(error, error_size, "ftruncate");
		st.st_size = (off_t)(SAFESOCK_PUB_CONTROL + 2 * capacity);
		p->size = (size_t)st.st_size;
		p->base = mmap(NULL, p->size, PROT_READ | PROT_WRITE, MAP_SHARED, p->fd, 0);
		if (p->base == MAP_FAILED)
			return fail(error, error_size, "mmap");
		struct safesock_pub_control *c = (struct safesock_pub_control *)p->base;
		for (int s = 0; s < 2; s++) {
			c->slots[s].offset = SAFESOCK_PUB_CONTROL + (uint64_t)s * capacity;
			c->slots[s].capacity = capacity;
		}
		c->version = SAFESOCK_PUB_VERSION;
		memcpy(c->magic, SAFESOCK_PUB_MAGIC, 8); /* last: a reader trusts nothing before it */
	} else {
		p->size = (size_t)st.st_size;
		p->base = mmap(NULL, p->size, PROT_READ | PROT_WRITE, MAP_SHARED, p->fd, 0);
		if (p->base == MAP_FAILED)
			return fail(error, error_size, "mmap");
	}
	struct safesock_pub_control *c = (struct safesock_pub_control *)p->base;
	if (p->size < SAFESOCK_PUB_CONTROL || !control_is_ours(c, object, error, error_size))
		return -1;
	p->next_generation = (atomic_load(&c->state) >> 1) + 1;
	return 0;
}

int safesock_publish_commit(struct safesock_publisher *p, const void *table, size_t length, char *error, size_t error_size)
{
	/* Shrunk since it was mapped (by someone who ignores the lock): the
	 * pages past its end are gone, and writing them would kill this
	 * process. Said, not written. */
	struct stat st;
	if (fstat(p->fd, &st) != 0 || (size_t)st.st_size < p->size) {
		snprintf(error, error_size, "the publication was truncated while it was open: publish it again");
		return -1;
	}
	struct safesock_pub_control *c = (struct safesock_pub_control *)p->base;
	uint64_t state = atomic_load(&c->state);
	int target = (int)(state & 1) ^ 1;
	struct safesock_pub_slot *slot = &c->slots[target];
	/* Odd first: every change to the slot, its region included, happens
	 * while readers can see that it is being written. */
	/* Even (a publisher that died mid-growth may have left it odd). */
	uint64_t sequence = (atomic_load(&slot->sequence) + 1) & ~(uint64_t)1;
	atomic_store_explicit(&slot->sequence, sequence + 1, memory_order_release);
	atomic_thread_fence(memory_order_seq_cst);
	/* A slot whose region is not inside the object as mapped (truncated by
	 * someone, or never set) gets a new region too: never written past
	 * the mapping. */
	int outside = slot->offset < SAFESOCK_PUB_CONTROL || slot->offset > p->size || slot->capacity > p->size - slot->offset;
	if (length > slot->capacity || outside) {
		/* A new region at the end: a slow reader may still be reading the
		 * old one (it will see the sequence move and decide again). */
		uint64_t capacity = round_up(length * 2), offset = round_up(p->size);
		if (offset + capacity > SAFESOCK_PUB_RESERVE) {
			atomic_store_explicit(&slot->sequence, sequence + 2, memory_order_release);
			snprintf(error, error_size, "table of %zu bytes is too large to publish", length);
			return -1;
		}
		if (ftruncate(p->fd, (off_t)(offset + capacity)) != 0) {
			atomic_store_explicit(&slot->sequence, sequence + 2, memory_order_release);
			return fail(error, error_size, "ftruncate");
		}
		munmap(p->base, p->size);
		p->size = (size_t)(offset + capacity);
		p->base = mmap(NULL, p->size, PROT_READ | PROT_WRITE, MAP_SHARED, p->fd, 0);
		if (p->base == MAP_FAILED)
			return fail(error, error_size, "mmap"); /* the slot stays odd: readers keep the active one */
		c = (struct safesock_pub_control *)p->base;
		slot = &c->slots[target];
		slot->offset = offset;
		slot->capacity = capacity;
	}
	/* pwrite, not a copy through the mapping: the mapping is new at each
	 * open, and writing through it took a page fault for each 4 KiB
	 * (100k rules, 5 MB: 5-7 ms, where pwrite takes about 1 ms). */
	for (size_t done = 0; done < length;) {
		ssize_t n = pwrite(p->fd, (const uint8_t *)table + done, length - done, (off_t)(slot->offset + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			/* The slot stays odd: readers keep the active one. */
			return fail(error, error_size, "pwrite");
		}
		done += (size_t)n;
	}
	slot->length = length;
	atomic_store_explicit(&slot->sequence, sequence + 2, memory_order_release);
	atomic_store_explicit(&c->state, (p->next_generation << 1) | (uint64_t)target, memory_order_release);
	return 0;
}

void safesock_publish_close(struct safesock_publisher *p)
{
	if (p->base && p->base != MAP_FAILED)
		munmap(p->base, p->size);
	if (p->fd >= 0)
		close(p->fd); /* releases the flock */
	p->fd = -1;
	p->base = NULL;
}

/* Reads exactly `length` bytes at `offset`: 0, or -1 on a short read (the
 * object truncated) or an error. */
static int read_exactly(int fd, void *out, size_t length, uint64_t offset)
{
	size_t done = 0;
	while (done < length) {
		ssize_t n = pread(fd, (uint8_t *)out + done, length - done, (off_t)(offset + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		done += (size_t)n;
	}
	return 0;
}

int safesock_pub_open_reader(const char *name, char *error, size_t error_size)
{
	char object[256];
	int fd = open_object(name, O_RDONLY, object, sizeof object, error, error_size);
	if (fd < 0)
		return -1;
	struct safesock_pub_control c;
	if (read_exactly(fd, &c, sizeof c, 0) != 0) {
		snprintf(error, error_size, "%s has no control page", object);
		close(fd);
		return -1;
	}
	if (!control_is_ours(&c, object, error, error_size)) {
		close(fd);
		return -1;
	}
	return fd;
}

int safesock_pub_look(int fd, struct safesock_pub_active *active)
{
	for (int t = 0; t < READ_TRIES; t++) {
		struct safesock_pub_control c;
		if (read_exactly(fd, &c, sizeof c, 0) != 0 || memcmp(c.magic, SAFESOCK_PUB_MAGIC, 8) != 0)
			return -1;
		uint64_t state = atomic_load_explicit(&c.state, memory_order_relaxed);
		int slot = (int)(state & 1);
		uint64_t sequence = atomic_load_explicit(&c.slots[slot].sequence, memory_order_relaxed);
		if (sequence & 1)
			continue; /* rewritten after the flip we read: read the flip again */
		uint64_t offset = c.slots[slot].offset, length = c.slots[slot].length;
		if (offset < SAFESOCK_PUB_CONTROL || offset > SAFESOCK_PUB_RESERVE || length > SAFESOCK_PUB_RESERVE - offset)
			return -1;
		*active = (struct safesock_pub_active){ .generation = state >> 1, .slot = slot, .sequence = sequence,
							 .offset = offset, .length = length };
		return 0;
	}
	return -1;
}

int safesock_pub_still(int fd, const struct safesock_pub_active *active)
{
	_Atomic uint64_t sequence;
	uint64_t at = offsetof(struct safesock_pub_control, slots) + (uint64_t)active->slot * sizeof(struct safesock_pub_slot) +
		      offsetof(struct safesock_pub_slot, sequence);
	atomic_thread_fence(memory_order_seq_cst);
	return read_exactly(fd, &sequence, sizeof sequence, at) == 0 &&
	       atomic_load_explicit(&sequence, memory_order_relaxed) == active->sequence;
}

int safesock_pub_read(int fd, const struct safesock_pub_active *active, void *out)
{
	return safesock_pub_read_range(fd, active, out, 0, (size_t)active->length);
}

int safesock_pub_read_range(int fd, const struct safesock_pub_active *active, void *out, size_t from, size_t length)
{
	if (from > active->length || length > active->length - from)
		return -1;
	int complete = read_exactly(fd, out, length, active->offset + from) == 0;
	/* The seqlock's second look: the bytes are the slot's as published
	 * only if its sequence did not move while they were read. */
	if (!safesock_pub_still(fd, active))
		return 1;
	return complete ? 0 : -1;
}

int safesock_sealed_table(int from, const void *bytes, size_t length, int close_on_exec)
{
	/* Raw calls: in the library each libc function first called at load
	 * costs its lazy binding in every program's start. */
	int copy = (int)syscall(SYS_memfd_create, "safesock-table", (close_on_exec ? MFD_CLOEXEC : 0) | MFD_ALLOW_SEALING);
	if (copy < 0)
		return -1;
	off_t offset = 0;
	while ((size_t)offset < length) {
		ssize_t n = bytes != NULL ? (ssize_t)syscall(SYS_pwrite64, copy, (const uint8_t *)bytes + offset, length - (size_t)offset, offset)
					  : (ssize_t)syscall(SYS_sendfile, copy, from, &offset, length - (size_t)offset);
		if (n <= 0) {
			int failed = n == 0 ? EIO : errno;
			close(copy);
			errno = failed;
			return -1;
		}
		if (bytes != NULL)
			offset += n;
	}
	if (syscall(SYS_fcntl, copy, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) != 0) {
		int failed = errno;
		close(copy);
		errno = failed;
		return -1;
	}
	return copy;
}
