/*
 * sockets.h: the `maxSockets` count (sockets.c).
 */
#ifndef SAFESOCK_SOCKETS_H
#define SAFESOCK_SOCKETS_H

#include "common.h"

/* Takes a place for a connection about to be made: 0, or -1 with errno
 * EMFILE (reported) when all places are held. */
int safesock_sockets_reserve(uint32_t limit, const char *op, const char *host, const char *address, int port);
/* The reserved place is not needed after all (the call failed). */
void safesock_sockets_release(void);
/* `fd` now holds the reserved place. */
void safesock_sockets_hold(int fd);

#endif
