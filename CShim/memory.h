/*
 * memory.h: the name memory. Every name -> address answer of an intercepted
 * resolver call is remembered, so that a later connect to the address is
 * judged by the name too (docs/decision.md, "Canonical identities").
 */
#ifndef SAFESOCK_MEMORY_H
#define SAFESOCK_MEMORY_H

#include <stddef.h>
#include <stdint.h>

#include "state.h"

/* Remembers that `name` (canonical) resolved to the address; with `keep`
 * (a disallow rule could match the name) it is never replaced. 0, or -1
 * when it could not be remembered: its address's entries are all kept
 * (or being written). */
int safesock_memory_remember(const char *name, uint8_t family, const uint8_t address[16], int keep);

/* Copies up to `max` names remembered for the address into `names`;
 * returns how many. Lock-free and allocation-free: safe on the connect
 * path and in signal handlers. */
size_t safesock_memory_names(uint8_t family, const uint8_t address[16], char (*names)[SAFESOCK_NAME_MAX], size_t max);

/* Under run --kernel: moves the name memory into a mapping the supervisor
 * can find in /proc/PID/maps (safesock_name_memory.h). Called once, at load. */
void safesock_memory_share(void);

/* Changes whenever a name is remembered; read it before the names. */
uint32_t safesock_memory_epoch(void);

#endif
