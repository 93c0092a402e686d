/*
 * children.h: keeping started programs under the policy (children.c).
 */
#ifndef SAFESOCK_CHILDREN_H
#define SAFESOCK_CHILDREN_H

#include "common.h"

/* Prepares, at load, what children get back: called by state.c. */
void safesock_children_init(void);

#endif
