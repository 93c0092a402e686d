/*
 * children.h: keeping started programs under the policy (children.c).
 */
#ifndef SAFESOCK_CHILDREN_H
#define SAFESOCK_CHILDREN_H

#include "common.h"

/* Prepares, at load, what children get back: called by state.c. */
/* Keeps the settings' "NAME=value" entries (NULL: not set) for children,
 * and `path`, this library's file name ("": unknown, dladdr is asked). */
void safesock_children_init(const char *const entries[SAFESOCK_SETTINGS], const char *path);

#endif
