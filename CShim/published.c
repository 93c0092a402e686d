/*
 * published.c: a publication's tables as this process decides with them
 * (safesock_publication.h has the protocol). The object is never mapped:
 * each new generation is read with pread into one of two private buffers,
 * checked there once (its header and block sums: the integrity check), and
 * decided on there, each block checked at the first decision that reads
 * it. A publication truncated or
 * removed under the program leaves it running: its table stands while the
 * control still names it, and once the control or a new table cannot be
 * read, every decision is refused with the reason (one stderr line).
 *
 * The buffers are a seqlock of their own: a new table goes into the
 * buffer not in use, its sequence odd while written; a decision that was
 * reading that buffer sees its sequence move (safesock_published_still)
 * and is made again. Buffers only grow, inside address ranges reserved at
 * attach, so no decision reads unmapped memory whatever it races with.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "state.h"

/* The largest table a publication may hold for the library. */
#define COPY_RESERVE ((size_t)1 << 30)
#define PAGE 4096u

struct buffer {
	_Atomic uint64_t sequence;  /* odd while written */
	uint8_t *bytes;             /* COPY_RESERVE of address space */
	size_t capacity;            /* of it mapped; only the writer changes it */
	/* What it holds, written while the sequence is odd. */
	_Atomic uint64_t length, generation, slot_sequence;
	_Atomic int slot;
	_Atomic int32_t fault;      /* its check: 0, or a fault code */
	struct safesock_options options;
	/* A byte a block of what it holds (safesock_match.h), in address
	 * space reserved at attach and mapped as the buffer grows; zeroed for
	 * each new table, and found right under the tag of the sequence the
	 * table was read at (tag_of). */
	uint8_t *checked;
	size_t checked_capacity;
};
static struct buffer buffers[2];
static _Atomic int active = -1;  /* the buffer of the newest table read */
static _Atomic int writing;      /* 1 while one thread reads a table in */
static int object = -1;

/* The tag of the table a buffer holds at `sequence` (even): never 0, and
 * another for the next table in the buffer, so a decision that checked a
 * block of the last one and stores its mark late (after the buffer was
 * zeroed and refilled) marks nothing of the new one. Tags repeat after 255
 * tables in one buffer; by then the buffer has been zeroed 254 times. */
static uint8_t tag_of(uint64_t sequence)
{
	return (uint8_t)((sequence >> 1) % 255 + 1);
}

static void forked_child(void)
{
	/* A fork in the middle of another thread's copy: in the child that
	 * thread is gone, and so is its claim. */
	atomic_store(&writing, 0);
}

int safesock_published_attach(const char *name, char *error, size_t error_size)
{
	object = safesock_pub_open_reader(name, error, error_size);
	if (object < 0)
		return -1;
	for (int b = 0; b < 2; b++) {
		void *range = mmap(NULL, COPY_RESERVE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (range == MAP_FAILED) {
			snprintf(error, error_size, "publication '%s': no address space for its tables", name);
			close(object);
			object = -1;
			return -1;
		}
		void *checked = mmap(NULL, SAFESOCK_BLOCKS_FOR(COPY_RESERVE), PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (checked == MAP_FAILED) {
			snprintf(error, error_size, "publication '%s': no address space for its tables", name);
			close(object);
			object = -1;
			return -1;
		}
		buffers[b].bytes = range;
		buffers[b].checked = checked;
		atomic_store(&buffers[b].generation, UINT64_MAX); /* holds nothing */
	}
	pthread_atfork(NULL, NULL, forked_child);
	return 0;
}

enum { READ_IN, BUSY, MOVED, UNREADABLE, TOO_LARGE };

/* Reads the table `pub` names into the buffer not in use, checks it,
 * and makes it the active one. */
static int read_in(const struct safesock_pub_active *pub, int in_use)
{
	if (pub->length > COPY_RESERVE)
		return TOO_LARGE;
	int expected = 0;
	if (!atomic_compare_exchange_strong(&writing, &expected, 1))
		return BUSY;
	int target = in_use == 0 ? 1 : 0;
	struct buffer *x = &buffers[target];
	uint64_t sequence = atomic_load(&x->sequence);
	atomic_store(&x->sequence, sequence + 1);
	atomic_thread_fence(memory_order_seq_cst);
	int result = READ_IN;
	size_t need = ((size_t)pub->length + PAGE - 1) / PAGE * PAGE;
	if (need > x->capacity) {
		/* Populated at once: left to the pread, the copy's first touch
		 * took a fault a 4 KiB page (a 5 MB table's first read here:
		 * 4.7 ms that way, 2.6 populated; docs/benchmarks.md). */
		if (mmap(x->bytes + x->capacity, need - x->capacity, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_POPULATE, -1, 0) == MAP_FAILED)
			result = UNREADABLE;
		else
			x->capacity = need;
	}
	size_t blocks = SAFESOCK_BLOCKS_FOR((size_t)pub->length);
	size_t checked_need = (blocks + PAGE - 1) / PAGE * PAGE;
	if (result == READ_IN && checked_need > x->checked_capacity) {
		if (mmap(x->checked + x->checked_capacity, checked_need - x->checked_capacity, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED)
			result = UNREADABLE;
		else
			x->checked_capacity = checked_need;
	}
	int read = result == READ_IN ? safesock_pub_read(object, pub, x->bytes) : -1;
	if (read == 0) {
		/* No block of the new table is checked yet (and whatever the last
		 * one's decisions store late carries the last tag). */
		memset(x->checked, 0, blocks);
		int32_t code = safesock_table_check_integrity(x->bytes, (size_t)pub->length);
		if (code == 0 && safesock_table_options(x->bytes, (size_t)pub->length, &x->options) != 0)
			code = -1;
		atomic_store_explicit(&x->length, pub->length, memory_order_relaxed);
		atomic_store_explicit(&x->generation, pub->generation, memory_order_relaxed);
		atomic_store_explicit(&x->slot_sequence, pub->sequence, memory_order_relaxed);
		atomic_store_explicit(&x->slot, pub->slot, memory_order_relaxed);
		atomic_store_explicit(&x->fault, code, memory_order_relaxed);
	} else {
		atomic_store_explicit(&x->generation, UINT64_MAX, memory_order_relaxed);
		result = read == 1 ? MOVED : UNREADABLE;
	}
	atomic_store_explicit(&x->sequence, sequence + 2, memory_order_release);
	if (read == 0)
		atomic_store_explicit(&active, target, memory_order_release);
	atomic_store(&writing, 0);
	return result;
}

/* Fills `now` from buffer `b` if it holds `pub`'s table (or any table,
 * with pub NULL): 0, -1 with the fault, or 1 when it does not. */
static int use(int b, const struct safesock_pub_active *pub, struct safesock_current *now)
{
	struct buffer *x = &buffers[b];
	uint64_t sequence = atomic_load_explicit(&x->sequence, memory_order_acquire);
	if (sequence & 1)
		return 1;
	uint64_t generation = atomic_load_explicit(&x->generation, memory_order_relaxed);
	if (generation == UINT64_MAX ||
	    (pub != NULL && (generation != pub->generation || atomic_load_explicit(&x->slot, memory_order_relaxed) != pub->slot ||
			     atomic_load_explicit(&x->slot_sequence, memory_order_relaxed) != pub->sequence)))
		return 1;
	now->table = x->bytes;
	now->length = (size_t)atomic_load_explicit(&x->length, memory_order_relaxed);
	now->blocks = (struct safesock_blocks){ .checked = x->checked, .tag = tag_of(sequence) };
	now->options = x->options;
	int32_t fault = atomic_load_explicit(&x->fault, memory_order_relaxed);
	atomic_thread_fence(memory_order_acquire);
	if (atomic_load_explicit(&x->sequence, memory_order_relaxed) != sequence)
		return 1;
	now->copy_buffer = b;
	now->copy_sequence = sequence;
	now->key = ((sequence << 1) | (uint64_t)b) + 2;
	if (fault != 0) {
		now->fault = safesock_table_fault_reason(fault);
		return -1;
	}
	return 0;
}

int safesock_published_acquire(struct safesock_current *now)
{
	if (object < 0)
		return -1;
	for (int tries = 0; tries < 8; tries++) {
		struct safesock_pub_active pub;
		if (safesock_pub_look(object, &pub) != 0) {
			now->fault = "the publication cannot be read (truncated, or mid-write for too long)";
			return -1;
		}
		int b = atomic_load_explicit(&active, memory_order_acquire);
		int used = b >= 0 ? use(b, &pub, now) : 1;
		if (used <= 0)
			return used;
		switch (read_in(&pub, b)) {
		case BUSY:
			/* Another thread is reading the new table in: until it is
			 * done, the last one stands, as if this call came first. */
			if (b >= 0) {
				int last = use(b, NULL, now);
				if (last <= 0)
					return last;
			}
			sched_yield();
			break;
		case UNREADABLE:
			now->fault = "the published table cannot be read (the publication was truncated?)";
			return -1;
		case TOO_LARGE:
			now->fault = "the published table is larger than the library reads (1 GiB)";
			return -1;
		default: /* read in, or the slot moved meanwhile: look again */
			break;
		}
	}
	now->fault = "the published table kept changing";
	return -1;
}

int safesock_published_still(const struct safesock_current *now)
{
	return atomic_load_explicit(&buffers[now->copy_buffer & 1].sequence, memory_order_acquire) == now->copy_sequence;
}
