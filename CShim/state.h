/*
 * state.h: the library's settings and table, loaded once (state.c) and
 * read-only afterwards, so deciding needs no lock.
 */
#ifndef SAFESOCK_STATE_H
#define SAFESOCK_STATE_H

#include "common.h"

#define SAFESOCK_NAME_MAX 256

struct safesock_state {
	const void *table;   /* NULL: fail closed, every inet connection denied */
	size_t table_length;
	char fault[192];     /* why there is no table */
	struct safesock_options options;
	char origin[SAFESOCK_NAME_MAX]; /* canonical origin host, "" if none */
	char origin_text[SAFESOCK_NAME_MAX]; /* the origin as given, for lookups */
	int learn;           /* SAFESOCK_MODE=learn: record, never deny */
};

/* The loaded state; safesock_init() has run when this returns. */
const struct safesock_state *safesock_state(void);

/* Canonical identity text of host text (SPEC section 2): an address in any
 * spelling becomes its canonical text and `*family` 4 or 6 with `address`
 * filled; anything else is a name, ASCII lower case, trailing dots dropped
 * (`*family` 0). 0 on success, -1 if it does not fit in `size`. */
int safesock_canonical_host(const char *text, char *out, size_t size, uint8_t *family, uint8_t address[16]);

#endif
