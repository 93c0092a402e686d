/*
 * memory.c: the name memory, a fixed table in static storage (bounded:
 * 2048 entries, the oldest in a full neighbourhood replaced), shared by all
 * threads of the process and inherited by fork. Its layout is in
 * safesock_name_memory.h, because under run --kernel the supervisor reads
 * it too (as hints it checks).
 *
 * Each entry is a seqlock: a writer (a resolver call) claims it by moving
 * its sequence from even to odd with a compare-and-swap, writes, and makes
 * it even again. A writer that finds an entry claimed moves on to the next,
 * so writers never wait either. Readers (connect) never write: they copy
 * an entry and keep the copy only if the sequence was even and unchanged
 * around it. No reader or writer can wait on another, so a signal handler
 * that connects while its thread is inside a resolver call cannot hang.
 */
#include <stdatomic.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "memory.h"

#define SLOTS SAFESOCK_NAME_SLOTS
#define NEIGHBOURHOOD SAFESOCK_NAME_NEIGHBOURHOOD
#define READ_TRIES 4

struct entry {
	_Atomic uint32_t sequence; /* odd while being written */
	uint8_t family;            /* 0 empty, 4, 6 */
	uint8_t name_length;
	uint8_t address[16];
	char name[SAFESOCK_NAME_MAX];
	uint8_t kept;              /* a disallow rule could match the name: never replaced */
};

_Static_assert(sizeof(struct entry) == SAFESOCK_NAME_ENTRY_SIZE, "safesock_name_memory.h: entry size");
_Static_assert(offsetof(struct entry, family) == SAFESOCK_NAME_FAMILY_OFFSET, "safesock_name_memory.h: family");
_Static_assert(offsetof(struct entry, name_length) == SAFESOCK_NAME_LENGTH_OFFSET, "safesock_name_memory.h: length");
_Static_assert(offsetof(struct entry, address) == SAFESOCK_NAME_ADDRESS_OFFSET, "safesock_name_memory.h: address");
_Static_assert(offsetof(struct entry, name) == SAFESOCK_NAME_TEXT_OFFSET, "safesock_name_memory.h: name");
_Static_assert(offsetof(struct entry, kept) == SAFESOCK_NAME_KEPT_OFFSET, "safesock_name_memory.h: kept");
_Static_assert(SAFESOCK_NAME_MAX > UINT8_MAX, "a name's length byte cannot reach past a name buffer");

static struct entry storage[SLOTS];
/* The storage above, or under run --kernel a mapping the supervisor can
 * find (safesock_memory_share). Set at load, before any reader. */
static struct entry *entries = storage;

void safesock_memory_share(void)
{
	/* Raw calls: close is ours (sockets.c counts it), and nothing here
	 * should be judged. MAP_PRIVATE keeps fork's copy-on-write, as static
	 * storage has. Without it the names stay private, and the supervisor
	 * judges such a process's own system calls by address alone. */
	int fd = (int)syscall(SYS_memfd_create, SAFESOCK_NAME_MEMORY_FILE, MFD_CLOEXEC);
	if (fd < 0)
		return;
	if (syscall(SYS_ftruncate, fd, (long)sizeof storage) == 0) {
		void *mapping = mmap(NULL, sizeof storage, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
		if (mapping != MAP_FAILED)
			entries = mapping;
	}
	syscall(SYS_close, fd);
}
static _Atomic uint32_t evictions;
/* Counts writes, so that a verdict remembered by a thread (cache.c) is
 * forgotten once the names an address is known by may have changed. */
static _Atomic uint32_t epoch;

uint32_t safesock_memory_epoch(void)
{
	return atomic_load_explicit(&epoch, memory_order_acquire);
}

static uint32_t home(uint8_t family, const uint8_t address[16])
{
	return safesock_name_home(family, address);
}

/* Each length a constant, so the compiler compares in registers rather
 * than calling memcmp: this runs for every entry of a neighbourhood. */
static int same_bytes(const uint8_t *a, const uint8_t *b, uint8_t family)
{
	return family == 4 ? memcmp(a, b, 4) == 0 : memcmp(a, b, 16) == 0;
}

static int same_address(const struct entry *e, uint8_t family, const uint8_t address[16])
{
	return e->family == family && same_bytes(e->address, address, family);
}

/* A consistent copy of entry `i`, or 0 if it was being written throughout. */
static int read_entry(size_t i, struct entry *copy)
{
	for (int t = 0; t < READ_TRIES; t++) {
		uint32_t before = atomic_load_explicit(&entries[i].sequence, memory_order_acquire);
		if (before & 1)
			continue;
		copy->family = entries[i].family;
		copy->name_length = entries[i].name_length;
		memcpy(copy->address, entries[i].address, sizeof copy->address);
		memcpy(copy->name, entries[i].name, copy->name_length);
		atomic_thread_fence(memory_order_acquire);
		if (atomic_load_explicit(&entries[i].sequence, memory_order_relaxed) == before)
			return 1;
	}
	return 0;
}

int safesock_memory_remember(const char *name, uint8_t family, const uint8_t address[16], int keep)
{
	size_t length = strlen(name);
	if (length == 0 || length >= SAFESOCK_NAME_MAX || (family != 4 && family != 6))
		return -1;
	uint32_t start = home(family, address);
	struct entry copy;
	int free_slot = -1;
	for (uint32_t k = 0; k < NEIGHBOURHOOD; k++) {
		size_t i = (start + k) & (SLOTS - 1);
		if (!read_entry(i, &copy))
			continue;
		if (copy.family == 0 && free_slot < 0)
			free_slot = (int)i;
		if (same_address(&copy, family, address) && copy.name_length == length && memcmp(copy.name, name, length) == 0) {
			if (!keep || entries[i].kept)
				return 0; /* known already */
			free_slot = (int)i; /* known, and kept from now on: written again in place */
			break;
		}
	}
	/* A free entry, else one chosen round-robin: the neighbourhood is all
	 * readers search, so writes stay inside it. */
	uint32_t first = free_slot >= 0 ? (((uint32_t)free_slot - start) & (SLOTS - 1))
		: atomic_fetch_add(&evictions, 1) % NEIGHBOURHOOD;
	for (uint32_t k = 0; k < NEIGHBOURHOOD; k++) {
		size_t i = (start + (first + k) % NEIGHBOURHOOD) & (SLOTS - 1);
		uint32_t sequence = atomic_load_explicit(&entries[i].sequence, memory_order_relaxed);
		if ((sequence & 1) || !atomic_compare_exchange_strong(&entries[i].sequence, &sequence, sequence + 1))
			continue;
		int same = same_address(&entries[i], family, address) && entries[i].name_length == length &&
			   memcmp(entries[i].name, name, length) == 0;
		if (entries[i].family != 0 && entries[i].kept && !same) {
			/* A name a disallow rule needs: never forgotten. */
			atomic_store_explicit(&entries[i].sequence, sequence + 2, memory_order_release);
			continue;
		}
		entries[i].kept = (uint8_t)(keep != 0);
		entries[i].family = family;
		entries[i].name_length = (uint8_t)length;
		memcpy(entries[i].address, address, 16);
		memcpy(entries[i].name, name, length);
		atomic_store_explicit(&entries[i].sequence, sequence + 2, memory_order_release);
		atomic_fetch_add_explicit(&epoch, 1, memory_order_release);
		return 0;
	}
	/* Every entry of the neighbourhood is kept, or being written right
	 * now: not remembered (the caller fails the lookup if the name must be). */
	return -1;
}

/* Entry `i`'s name into `out`, terminated, when the entry holds `address`
 * and was not written while read: 1, else 0. Straight into `out`, not
 * through a copy of the entry (read_entry): one copy of the name a
 * connect to a new destination, and none of the address. */
static int read_name(size_t i, uint8_t family, const uint8_t address[16], char out[SAFESOCK_NAME_MAX])
{
	for (int t = 0; t < READ_TRIES; t++) {
		uint32_t before = atomic_load_explicit(&entries[i].sequence, memory_order_acquire);
		if (before & 1)
			continue;
		/* A torn length is a byte, under SAFESOCK_NAME_MAX: the copy stays
		 * inside both buffers whatever it read, and is kept only if the
		 * sequence shows no write. */
		uint8_t length = entries[i].name_length;
		int same = same_address(&entries[i], family, address);
		memcpy(out, entries[i].name, length);
		atomic_thread_fence(memory_order_acquire);
		if (atomic_load_explicit(&entries[i].sequence, memory_order_relaxed) != before)
			continue;
		if (!same)
			return 0;
		out[length] = '\0';
		return 1;
	}
	return 0;
}

size_t safesock_memory_names(uint8_t family, const uint8_t address[16], char (*names)[SAFESOCK_NAME_MAX], size_t max)
{
	size_t found = 0;
	uint32_t start = home(family, address);
	for (uint32_t k = 0; k < NEIGHBOURHOOD && found < max; k++) {
		size_t i = (start + k) & (SLOTS - 1);
		/* The address first, without copying the name: most entries of a
		 * neighbourhood are other addresses. A torn read here only decides
		 * whether read_name, which checks, is asked. */
		if (entries[i].family != family || !same_bytes(entries[i].address, address, family))
			continue;
		found += (size_t)read_name(i, family, address, names[found]);
	}
	return found;
}
