/*
 * published.c: a publication's tables as this process decides with them
 * (safesock_publication.h has the protocol). The object is never mapped:
 * each new generation is read with pread into one of two private buffers,
 * a block at a time. At a new generation only its header and block sums
 * are read and checked (the integrity check: a cost that does not grow
 * with the rules); each other block is read at the first decision that
 * needs it (fetch, through `struct safesock_blocks`), summed there against
 * the sums read at the start, and decided on from the private copy. A
 * block that no longer matches (written behind the publisher's back)
 * denies what needs it; one whose slot was rewritten meanwhile makes the
 * decision again on the new table. Who can write the object can publish
 * through it anyway: a block read late gives them nothing a publication
 * would not. A publication truncated or removed under the program leaves
 * it running: the blocks already read stand while the control still
 * names the table, and once the control, a new table or a block cannot be
 * read, what needs it is refused with the reason (one stderr line).
 *
 * The buffers are a seqlock of their own: a new table goes into the
 * buffer not in use, its sequence odd while written; a decision that was
 * reading that buffer sees its sequence move (safesock_published_still)
 * and is made again. A fetch writes into a buffer only while its count of
 * copiers is up and its sequence is the decision's: a new table waits for
 * the count to fall before it touches the buffer, so no late copy lands
 * in another table's bytes. Buffers only grow, inside address ranges
 * reserved at attach, so no decision reads unmapped memory whatever it
 * races with.
 */
#include <endian.h>
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
	/* The slot its blocks are read from, and where its sums start. */
	struct safesock_pub_active source;
	size_t sums_at;
	/* Fetches in progress (each with the sequence it was made at). */
	_Atomic int copiers;
	/* The sequence of a table whose slot a fetch found rewritten: its
	 * decisions are made again (safesock_published_still). */
	_Atomic uint64_t gone;
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
	return (uint8_t)((sequence >> 1) % (SAFESOCK_BLOCK_BUSY - 1) + 1);
}

static size_t block_count(size_t sums_at)
{
	return sums_at < SAFESOCK_TABLE_HEADER ? 0 : (sums_at - SAFESOCK_TABLE_HEADER + SAFESOCK_BLOCK_SIZE - 1) >> SAFESOCK_BLOCK_SHIFT;
}

static void forked_child(void)
{
	/* A fork in the middle of another thread's copy: in the child that
	 * thread is gone, and so are its claims (a block it was reading is
	 * read again). */
	atomic_store(&writing, 0);
	for (int b = 0; b < 2; b++) {
		struct buffer *x = &buffers[b];
		atomic_store(&x->copiers, 0);
		if (x->checked == NULL || (atomic_load(&x->sequence) & 1) || atomic_load(&x->generation) == UINT64_MAX)
			continue;
		size_t n = block_count(x->sums_at);
		for (size_t k = 0; k < n; k++)
			if (x->checked[k] == SAFESOCK_BLOCK_BUSY)
				x->checked[k] = 0;
	}
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

/* Maps `*capacity` of the range at `base` up to `bytes` (whole pages):
 * 0, or -1. Not populated: only the pages a decision reads are ever
 * touched. */
static int grow(uint8_t *base, size_t *capacity, size_t bytes)
{
	size_t need = (bytes + PAGE - 1) / PAGE * PAGE;
	if (need <= *capacity)
		return 0;
	if (mmap(base + *capacity, need - *capacity, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) ==
	    MAP_FAILED)
		return -1;
	*capacity = need;
	return 0;
}

/* Reads the header and sums of `pub`'s table into `x` (its capacity
 * grown to hold the whole table): 0, 1 when the slot moved, -1 when they
 * cannot be read. */
static int read_index(struct buffer *x, const struct safesock_pub_active *pub)
{
	size_t length = (size_t)pub->length;
	size_t blocks = SAFESOCK_BLOCKS_FOR(length);
	if (grow(x->bytes, &x->capacity, length) != 0 || grow(x->checked, &x->checked_capacity, blocks) != 0)
		return -1;
	size_t header = length < SAFESOCK_TABLE_HEADER ? length : SAFESOCK_TABLE_HEADER;
	int read = safesock_pub_read_range(object, pub, x->bytes, 0, header);
	if (read != 0)
		return read;
	/* Where the header says the sums are; a place that is no place leaves
	 * sums_at 0, and the integrity check refuses the header. */
	uint32_t at = 0;
	if (header == SAFESOCK_TABLE_HEADER)
		memcpy(&at, x->bytes + SAFESOCK_TABLE_BLOCK_SUMS, sizeof at);
	at = le32toh(at);
	x->sums_at = at >= SAFESOCK_TABLE_HEADER && at <= length ? at : 0;
	if (x->sums_at != 0 && (read = safesock_pub_read_range(object, pub, x->bytes + x->sums_at, x->sums_at, length - x->sums_at)) != 0)
		return read;
	/* No block of the new table is read yet. */
	memset(x->checked, 0, blocks);
	return 0;
}

/* Reads the table `pub` names into the buffer not in use (its header and
 * sums; fetch reads the rest), checks it, and makes it the active one. */
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
	/* A fetch of the table this buffer held counts itself in, then looks
	 * at the sequence: either it sees the odd one and writes nothing, or
	 * this sees its count and waits for its copy to end. Bounded: a copier
	 * stopped for good (this thread's own, under a signal handler) leaves
	 * the buffer as it was, and the last table stands. */
	for (int spin = 0; atomic_load(&x->copiers) != 0; spin++) {
		if (spin == 1000) {
			atomic_store(&x->sequence, sequence);
			atomic_store(&writing, 0);
			return BUSY;
		}
		sched_yield();
	}
	int read = read_index(x, pub);
	int result = read == 0 ? READ_IN : read == 1 ? MOVED : UNREADABLE;
	if (read == 0) {
		int32_t code = safesock_table_check_integrity(x->bytes, (size_t)pub->length);
		if (code == 0 && safesock_table_options(x->bytes, (size_t)pub->length, &x->options) != 0)
			code = -1;
		x->source = *pub;
		atomic_store_explicit(&x->length, pub->length, memory_order_relaxed);
		atomic_store_explicit(&x->generation, pub->generation, memory_order_relaxed);
		atomic_store_explicit(&x->slot_sequence, pub->sequence, memory_order_relaxed);
		atomic_store_explicit(&x->slot, pub->slot, memory_order_relaxed);
		atomic_store_explicit(&x->fault, code, memory_order_relaxed);
	} else {
		atomic_store_explicit(&x->generation, UINT64_MAX, memory_order_relaxed);
	}
	atomic_store_explicit(&x->sequence, sequence + 2, memory_order_release);
	if (read == 0)
		atomic_store_explicit(&active, target, memory_order_release);
	atomic_store(&writing, 0);
	return result;
}

/* A block of the table the buffer holds at `blocks->sequence`, read in
 * and summed, with the copiers' count up (read_in waits for it). */
static int32_t fetch_counted(struct buffer *x, const struct safesock_blocks *blocks, size_t block)
{
	if (atomic_load(&x->sequence) != blocks->sequence)
		return SAFESOCK_FETCH_GONE; /* another table is being read in, or is */
	size_t length = (size_t)atomic_load_explicit(&x->length, memory_order_relaxed);
	size_t sums_at = x->sums_at;
	if (block >= block_count(sums_at))
		return SAFESOCK_FETCH_GONE;
	_Atomic uint8_t *mark = (_Atomic uint8_t *)&x->checked[block];
	/* One copier a block: two would write the same bytes while the first
	 * sums them. Another thread's copy takes microseconds; one that never
	 * ends (this thread's, under a signal handler) is refused. */
	for (int spin = 0;; spin++) {
		uint8_t seen = atomic_load(mark);
		if (seen == blocks->tag)
			return SAFESOCK_FETCHED;
		if (seen != SAFESOCK_BLOCK_BUSY && atomic_compare_exchange_strong(mark, &seen, SAFESOCK_BLOCK_BUSY))
			break;
		if (spin == 1000)
			return SAFESOCK_FETCH_GONE;
		sched_yield();
	}
	size_t from = SAFESOCK_TABLE_HEADER + (block << SAFESOCK_BLOCK_SHIFT);
	size_t n = sums_at - from < SAFESOCK_BLOCK_SIZE ? sums_at - from : SAFESOCK_BLOCK_SIZE;
	int read = safesock_pub_read_range(object, &x->source, x->bytes + from, from, n);
	int32_t result = SAFESOCK_FETCH_GONE;
	uint8_t now = 0;
	if (read == 1)
		atomic_store(&x->gone, blocks->sequence); /* the slot was rewritten: decide again */
	else if (read == 0 && safesock_table_block_matches(x->bytes, length, block) == 1) {
		now = blocks->tag;
		result = SAFESOCK_FETCHED;
	} else if (read == 0)
		result = SAFESOCK_FETCH_CORRUPT; /* changed behind the publisher's back */
	atomic_store(mark, now);
	return result;
}

static int32_t fetch(const struct safesock_blocks *blocks, size_t block)
{
	struct buffer *x = &buffers[blocks->buffer & 1];
	atomic_fetch_add(&x->copiers, 1);
	int32_t result = fetch_counted(x, blocks, block);
	atomic_fetch_sub(&x->copiers, 1);
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
	now->blocks = (struct safesock_blocks){
		.checked = x->checked, .tag = tag_of(sequence), .buffer = (uint8_t)b, .fetch = fetch, .sequence = sequence,
	};
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
	const struct buffer *x = &buffers[now->copy_buffer & 1];
	return atomic_load_explicit(&x->sequence, memory_order_acquire) == now->copy_sequence &&
	       atomic_load_explicit(&x->gone, memory_order_relaxed) != now->copy_sequence;
}
