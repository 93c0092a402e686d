/*
 * resolve.h: the resolve gate (resolve.c), shared with the raw DNS calls
 * (dns.c).
 */
#ifndef SAFESOCK_RESOLVE_H
#define SAFESOCK_RESOLVE_H

#include "safesock_name_memory.h"

/* The gate for a canonical name about to be looked up (`port` for the
 * record, -1 if none): 0 when it may be, -1 when it is refused (reported;
 * under `resolve strict` no allow rule could match it at any port, or
 * there is no usable table). Learning, it reports and says 0. */
int safesock_name_gate(const char *canonical, int port);

/* Keeps the resolver's variables as they are at load: state.c hands it
 * each "NAME=value" of the environment. */
void safesock_resolver_environment_note(const char *entry);

/* The name glibc should be given for a judged lookup of `name` (as the
 * program wrote it): itself, or, when the program has set or changed
 * LOCALDOMAIN, RES_OPTIONS or HOSTALIASES since load (which would make
 * glibc ask for another name than the one judged), the same name made
 * absolute in `absolute` (a trailing dot: no search list, no alias). */
const char *safesock_resolver_name(const char *name, char absolute[SAFESOCK_NAME_MAX + 1]);

#endif
