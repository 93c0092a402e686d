/*
 * route.h: source routes refused (route.c says why).
 */
#ifndef SAFESOCK_ROUTE_H
#define SAFESOCK_ROUTE_H

#include "common.h"
#include "safesock_source_route.h"

/* Control messages larger than this, on an inet socket, are refused
 * rather than sent unchecked. */
#define SAFESOCK_CONTROL_MAX 2048

/* Copies `message`'s control into `copy` and points the message at it:
 * SAFESOCK_PASS when it asks for no source route, else the deny path's
 * answer (reported; errno EACCES when denied). */
enum safesock_verdict safesock_check_control(int fd, struct msghdr *message, unsigned char copy[SAFESOCK_CONTROL_MAX],
					     const char *op);

#endif
