/*
 * symbols.h: the next definitions of the calls the library must know at
 * load, found without a dlsym each (symbols.c says how and when not).
 */
#ifndef SAFESOCK_SYMBOLS_H
#define SAFESOCK_SYMBOLS_H

#include <stddef.h>

/* The most names one walk looks up (more: none found, dlsym for all). */
#define SAFESOCK_SYMBOLS_MAX 32

/* Marks, inside the walk, a name only dlsym can answer. */
#define SAFESOCK_SYMBOL_ASK ((void *)1)

/* For each of `names`, the address of the first definition past this
 * library's object in the global search order, as dlsym(RTLD_NEXT) would
 * give it, or NULL where the caller must ask dlsym; and this library's
 * file name (as the dynamic linker has it) in `path`, or "". */
void safesock_symbols_next(const char *const names[], void *found[], int count, char *path, size_t path_size);

#endif
