/*
 * state.h: the library's settings and table, loaded once (state.c) and
 * read-only afterwards, so deciding needs no lock. The table is a file
 * mapped once, or a publication (SAFESOCK_TABLE without a '/') that may be
 * republished at any time: every decision acquires the current table and,
 * after deciding, checks it is still the same one.
 */
#ifndef SAFESOCK_STATE_H
#define SAFESOCK_STATE_H

#include <stdatomic.h>

#include "common.h"
#include "safesock_canonical.h"
#include "safesock_name_memory.h"
#include "safesock_publication.h"

struct safesock_state {
	const void *file_table; /* a table file, mapped once; NULL otherwise */
	size_t file_length;
	int published;          /* SAFESOCK_TABLE names a publication (published.c reads it) */
	char fault[192];        /* why there is no usable table */
	char origin[SAFESOCK_NAME_MAX]; /* canonical origin host, "" if none */
	char origin_text[SAFESOCK_NAME_MAX]; /* the origin as given, for lookups */
	int learn;              /* SAFESOCK_MODE=learn: record, never deny */
	int kernel;             /* SAFESOCK_KERNEL=1: run --kernel supervises (raw.h) */
};

/* The table one decision is made on. */
struct safesock_current {
	const void *table;
	size_t length;
	struct safesock_blocks blocks; /* which of its blocks were found right (safesock_match.h) */
	struct safesock_options options;
	int copy_buffer;         /* a publication's: which private copy, at which sequence, for `still` */
	uint64_t copy_sequence;
	const char *fault;       /* why not, when acquire fails (static text) */
	uint64_t key;            /* which table: the same key, the same bytes */
	int learn;               /* SAFESOCK_MODE=learn */
	int kernel;              /* SAFESOCK_KERNEL=1 */
};

/* The loaded state; safesock_init() has run when this returns. Inline:
 * every connect asks, and after load the answer is one atomic load. */
extern struct safesock_state safesock_loaded;
extern _Atomic int safesock_phase; /* 0 not loaded, 1 loading, 2 loaded */
const struct safesock_state *safesock_state_loading(void);
static inline const struct safesock_state *safesock_state(void)
{
	if (atomic_load_explicit(&safesock_phase, memory_order_acquire) == 2)
		return &safesock_loaded;
	return safesock_state_loading();
}

/* The table to decide on now: 0, or -1 when there is none usable (fail
 * closed; `now->fault` says why). */
int safesock_acquire_slow(struct safesock_current *now);

/* A table file's check, once it passed (state.c); the options it read. */
#define SAFESOCK_FILE_GOOD 2
/* A file's table is the program's one table: its key (safesock_current.key). */
#define SAFESOCK_FILE_TABLE_KEY 1
extern _Atomic int32_t safesock_file_check;
extern struct safesock_options safesock_file_options;

/* A file's table checked good (at its first decision): every later one
 * may trust it without a call. What is mapped is a sealed copy or a
 * private one, never the file (state.c), so the check stands for the
 * program's life. */
static inline int safesock_file_checked(const struct safesock_state *s)
{
	return s->file_table != NULL &&
	       atomic_load_explicit(&safesock_file_check, memory_order_acquire) == SAFESOCK_FILE_GOOD;
}

/* Inline for a checked file's table; else safesock_acquire_slow. */
static inline int safesock_acquire(struct safesock_current *now)
{
	const struct safesock_state *s = safesock_state();
	if (!safesock_file_checked(s))
		return safesock_acquire_slow(now);
	now->fault = s->fault;
	now->key = SAFESOCK_FILE_TABLE_KEY;
	now->learn = s->learn;
	now->kernel = s->kernel;
	now->table = s->file_table;
	now->length = s->file_length;
	now->blocks = (struct safesock_blocks){ .checked = NULL, .tag = 0 };
	now->options = safesock_file_options;
	return 0;
}

/* A publication's tables (published.c): attach at load (0, or -1 with the
 * reason in `error`); acquire and still as below. */
int safesock_published_attach(const char *name, char *error, size_t error_size);
int safesock_published_acquire(struct safesock_current *now);
int safesock_published_still(const struct safesock_current *now);

/* 1 while `now` is still the current table: a decision made on it stands.
 * 0: it was republished meanwhile, and the decision must be made again. */
int safesock_still(const struct safesock_current *now);

#endif
