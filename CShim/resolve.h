/*
 * resolve.h: the resolve gate (resolve.c), shared with the raw DNS calls
 * (dns.c).
 */
#ifndef SAFESOCK_RESOLVE_H
#define SAFESOCK_RESOLVE_H

/* The gate for a canonical name about to be looked up (`port` for the
 * record, -1 if none): 0 when it may be, -1 when it is refused (reported;
 * under `resolve strict` no allow rule could match it at any port, or
 * there is no usable table). Learning, it reports and says 0. */
int safesock_name_gate(const char *canonical, int port);

#endif
