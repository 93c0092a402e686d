/*
 * verdict.h: the one verdict function (verdict.c) and the one deny path.
 */
#ifndef SAFESOCK_VERDICT_H
#define SAFESOCK_VERDICT_H

#include "report.h"
#include "state.h"

/* Reports a denial and sets errno EACCES; in learn mode reports it as a
 * would-be denial and allows. Every denial of every interposer ends here. */
enum safesock_verdict safesock_deny(struct safesock_record *record);

/* Fills the record's rule texts from deciding rule indexes. */
void safesock_record_rules(struct safesock_record *record, const struct safesock_current *now, const uint32_t *rules, size_t count);

/* What to hand libc after a verdict of pass or allow: the copy that was
 * judged, or the caller's own only where no copy was made (no name, or
 * one too short to hold a family, which the kernel refuses). */
static inline const struct sockaddr *safesock_forwarded(const struct safesock_destination *d, const struct sockaddr *theirs)
{
	return d->length > 0 ? (const struct sockaddr *)&d->addr : theirs;
}
static inline socklen_t safesock_forwarded_length(const struct safesock_destination *d, socklen_t theirs)
{
	return d->length > 0 ? d->length : theirs;
}

/* The current table's options, or all-deny when there is no usable table. */
struct safesock_options safesock_current_options(void);

#endif
