/*
 * cache.c: the per-thread allow cache (cache.h). Only allow verdicts are
 * kept: a denial must be reported every time, and costs no kernel call.
 *
 * Thread-local, so no lock and no sharing. A signal handler can interrupt
 * its own thread inside a lookup or a store; `busy` makes the handler
 * leave the cache alone then (it decides afresh), so it can neither read
 * a half-written entry nor leave one half-overwritten.
 */
#include <signal.h>
#include <string.h>

#include "cache.h"

#define ENTRIES 8

struct cache {
	volatile sig_atomic_t busy;
	struct safesock_cache_key entries[ENTRIES]; /* table 0: empty */
};

/* initial-exec: no __tls_get_addr call; the library is preloaded. */
static __thread struct cache cache __attribute__((tls_model("initial-exec")));

#define BARRIER() __asm__ __volatile__("" ::: "memory")

static uint64_t word(const struct safesock_cache_key *key, int i)
{
	uint64_t w;
	memcpy(&w, (const char *)key + 8 * i, sizeof w);
	return w;
}

/* As four words, not memcmp: the call would cost more than the compare. */
static int same(const struct safesock_cache_key *a, const struct safesock_cache_key *b)
{
	return ((word(a, 0) ^ word(b, 0)) | (word(a, 1) ^ word(b, 1)) | (word(a, 2) ^ word(b, 2)) |
		(word(a, 3) ^ word(b, 3))) == 0;
}

/* Direct-mapped: one place a destination can be. The last two bytes of
 * either family's address (an IPv4 one's bytes 12 to 15 are zero), with
 * no branch on the family. */
static unsigned place(const struct safesock_cache_key *key)
{
	const uint8_t *a = key->address;
	return (a[2] ^ a[3] ^ a[14] ^ a[15] ^ key->port) % ENTRIES;
}

int safesock_cache_allowed(const struct safesock_cache_key *key)
{
	if (cache.busy)
		return 0;
	cache.busy = 1;
	BARRIER();
	int found = same(&cache.entries[place(key)], key);
	BARRIER();
	cache.busy = 0;
	return found;
}

void safesock_cache_allow(const struct safesock_cache_key *key)
{
	if (cache.busy || key->table == 0)
		return;
	cache.busy = 1;
	BARRIER();
	cache.entries[place(key)] = *key;
	BARRIER();
	cache.busy = 0;
}
