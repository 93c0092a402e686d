/*
 * safesock_name_memory.h: the layout of the preload library's name memory
 * (CShim/memory.c, which static-asserts it), defined once because a second
 * reader needs it: under `run --kernel` the library keeps the name memory
 * in a mapping named SAFESOCK_NAME_MEMORY_FILE, and the supervisor reads
 * the names it holds for an address out of the process (kernel.c) as hints
 * that it checks with its own resolver before a name counts for an allow
 * (docs/enforcement.md, "Names").
 *
 * SAFESOCK_NAME_SLOTS entries of SAFESOCK_NAME_ENTRY_SIZE bytes; an
 * address's names are in the SAFESOCK_NAME_NEIGHBOURHOOD entries from
 * safesock_name_home(), wrapping. Each entry:
 *   0   uint32  sequence     odd while being written (a seqlock)
 *   4   uint8   family       0 empty, 4 or 6
 *   5   uint8   name length  < SAFESOCK_NAME_MAX
 *   6   16 B    address      network order; IPv4 in the first 4
 *   22  bytes   name         canonical (lower case, no trailing dot), not terminated
 *   278 uint8   kept         1: a disallow rule could match the name, never replaced
 */
#ifndef SAFESOCK_NAME_MEMORY_H
#define SAFESOCK_NAME_MEMORY_H

#include <stdint.h>

#define SAFESOCK_NAME_MAX 256
#define SAFESOCK_NAME_SLOTS 2048 /* a power of two */
#define SAFESOCK_NAME_NEIGHBOURHOOD 8
#define SAFESOCK_NAME_ENTRY_SIZE 280 /* 22 + SAFESOCK_NAME_MAX, padded to 4 */
#define SAFESOCK_NAME_SEQUENCE_OFFSET 0
#define SAFESOCK_NAME_FAMILY_OFFSET 4
#define SAFESOCK_NAME_LENGTH_OFFSET 5
#define SAFESOCK_NAME_ADDRESS_OFFSET 6
#define SAFESOCK_NAME_TEXT_OFFSET 22
#define SAFESOCK_NAME_KEPT_OFFSET 278
/* /proc/PID/maps shows the mapping as "/memfd:safesock-names (deleted)". */
#define SAFESOCK_NAME_MEMORY_FILE "safesock-names"

/* The first entry of an address's neighbourhood (FNV-1a of family and bytes). */
static inline uint32_t safesock_name_home(uint8_t family, const uint8_t address[16])
{
	uint32_t h = 2166136261u ^ family;
	for (int i = 0; i < (family == 4 ? 4 : 16); i++)
		h = (h ^ address[i]) * 16777619u;
	return h & (SAFESOCK_NAME_SLOTS - 1);
}

#endif
