/*
 * cache.h: each thread's memory of its last allowed destinations, so that
 * a program connecting again and again to the same host (a connection
 * pool, a polling loop) pays the matcher once per table, not per connect.
 */
#ifndef SAFESOCK_CACHE_H
#define SAFESOCK_CACHE_H

#include <stdint.h>

/* Everything an allow verdict depends on besides the constant settings
 * (origin, learn mode): the table, the names known (the name memory's
 * epoch), the address, the port, and the socket's kind. */
struct safesock_cache_key {
	uint64_t table;        /* safesock_current.key; never 0 */
	uint32_t names_epoch;  /* safesock_memory_epoch() read before the names */
	uint16_t port;
	uint8_t family;        /* 4 or 6, after folding IPv4-mapped */
	uint8_t stream;        /* SOCK_STREAM: `datagrams` does not apply */
	uint8_t address[16];   /* 4 used for IPv4, the rest zero */
};
_Static_assert(sizeof(struct safesock_cache_key) == 32, "compared as four words");

/* 1 when this thread was allowed this destination by this table. */
int safesock_cache_allowed(const struct safesock_cache_key *key);

/* Remembers an allow verdict made on the table of `key`. */
void safesock_cache_allow(const struct safesock_cache_key *key);

#endif
