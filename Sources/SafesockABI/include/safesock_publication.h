/*
 * safesock_publication.h: a table published in shared memory under a name,
 * republished while programs run (docs/table-format.md, "Publication in
 * shared memory"). One implementation of the protocol, in C for its atomics:
 * `safesock reload` and `show` call it through SwiftPM, the preload library
 * compiles it in.
 *
 * The shared-memory object /safesock.NAME holds a control page and two
 * slots. The publisher writes the inactive slot under a seqlock (its
 * sequence odd while written), then flips one 64-bit control word that
 * holds the generation and the active slot. A reader loads the word and the
 * slot's sequence, decides, and checks the sequence again: a changed one
 * means the slot was rewritten meanwhile, and the table is read again.
 *
 * Readers never map the object: anyone who may write it (its owner) may
 * also truncate it, and a mapping of a truncated object kills its reader
 * with SIGBUS at the next read. Every read is a pread(2) instead, which a
 * truncation turns into a short read: a refusal, never a signal. A reader
 * copies the active table out and decides on its copy; noticing a new
 * table costs one pread of the control words.
 */
#ifndef SAFESOCK_PUBLICATION_H
#define SAFESOCK_PUBLICATION_H

#include <stddef.h>
#include <stdint.h>

#define SAFESOCK_PUB_MAGIC "SSOCKPUB"
#define SAFESOCK_PUB_VERSION 1u
#define SAFESOCK_PUB_CONTROL 4096u
/* Readers reserve this much address space once, so a grown object is
 * mapped again in place and no reader's pointer ever moves. */
#define SAFESOCK_PUB_RESERVE ((size_t)1 << 31)

struct safesock_pub_slot {
	_Atomic uint64_t sequence; /* odd while the slot is written */
	uint64_t offset;           /* of the slot's region in the object */
	uint64_t capacity;
	uint64_t length;           /* of the table in it */
};

struct safesock_pub_control {
	char magic[8];
	uint32_t version;
	uint32_t reserved;
	_Atomic uint64_t state; /* generation << 1 | active slot */
	struct safesock_pub_slot slots[2];
};

/* The object name for NAME ([A-Za-z0-9._-], 1-200 bytes); -1 if bad. */
int safesock_pub_object_name(const char *name, char *out, size_t size);

/* Publishing: open (creating if needed) and lock; the generation the next
 * table will have; commit copies the table in and flips to it. */
struct safesock_publisher {
	int fd;
	uint8_t *base;
	size_t size;
	uint64_t next_generation;
};
int safesock_publish_open(const char *name, struct safesock_publisher *p, char *error, size_t error_size);
int safesock_publish_commit(struct safesock_publisher *p, const void *table, size_t length, char *error, size_t error_size);
void safesock_publish_close(struct safesock_publisher *p);

/* Reading. The active slot as the control says: its generation, the
 * slot and its sequence (even), where the table is and how long. */
struct safesock_pub_active {
	uint64_t generation;
	int slot;
	uint64_t sequence;
	uint64_t offset;
	uint64_t length;
};
/* Opens NAME for reading and checks its control page: the descriptor, or
 * -1 with the reason in `error`. */
int safesock_pub_open_reader(const char *name, char *error, size_t error_size);
/* Looks at the active slot now: 0; -1 when the control cannot be read whole (the
 * object truncated) or stays mid-write, or the slot lies past
 * SAFESOCK_PUB_RESERVE. */
int safesock_pub_look(int fd, struct safesock_pub_active *active);
/* Copies the table of `active` into `out` (room for active->length bytes):
 * 0 when every byte was read and the slot was not rewritten meanwhile; 1
 * when it was (read the active slot again); -1 when the bytes cannot be
 * read (the object truncated under the reader). */
int safesock_pub_read(int fd, const struct safesock_pub_active *active, void *out);
/* The same for `length` bytes of the table from byte `from`, into `out`
 * (which receives byte `from` first); -1 as well for a range outside it. */
int safesock_pub_read_range(int fd, const struct safesock_pub_active *active, void *out, size_t from, size_t length);
/* 1 while the slot `active` names still holds that table (one pread). */
int safesock_pub_still(int fd, const struct safesock_pub_active *active);

/* Sealed tables: a memfd holding `length` bytes, from `bytes`, or when
 * `bytes` is NULL read from descriptor `from` (in the kernel, sendfile),
 * then sealed against shrinking, growing and writing by anyone, so that a
 * mapping of it can neither fault nor change. The descriptor (close-on-exec
 * when `close_on_exec`), or -1 with errno (EIO: `from` ended early). `run`
 * makes one for the programs it starts to share; the library makes its
 * own when there is none to share. */
int safesock_sealed_table(int from, const void *bytes, size_t length, int close_on_exec);

#endif
