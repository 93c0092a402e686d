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

/* The current table's options, or all-deny when there is no usable table. */
struct safesock_options safesock_current_options(void);

#endif
