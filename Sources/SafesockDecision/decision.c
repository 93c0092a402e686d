/*
 * decision.c: the one decision core (safesock_decision.h says what it
 * takes). Every path that is not an allow ends in the one deny below.
 */
#include <string.h>

#include "safesock_decision.h"

static void deny(struct safesock_decision *out, const char *reason)
{
	out->allowed = 0;
	out->reason = reason;
}

/*
 * `privateNames deny`: an allow that reaches a special address (loopback,
 * private, metadata...; any value but allow counts as deny) must come from
 * a rule written as an address, a block or the origin, else it came from
 * a name or glob that DNS can point anywhere. The origin is exempt. The
 * special range's code, or 0 when the allow stands.
 */
static int32_t special_by_name(const struct safesock_options *options, const struct safesock_identity *identities,
			       size_t count, uint32_t kinds)
{
	const uint32_t written_as_address =
		1u << SAFESOCK_HOST_ADDRESS | 1u << SAFESOCK_HOST_BLOCK | 1u << SAFESOCK_HOST_ORIGIN;
	if (options->private_names == SAFESOCK_OPTION_ALLOW || (kinds & written_as_address) != 0)
		return 0;
	for (size_t i = 0; i < count; i++)
		if (identities[i].is_origin)
			return 0;
	for (size_t i = 0; i < count; i++) {
		if (identities[i].family == 0)
			continue;
		int32_t special = safesock_address_special(identities[i].family, identities[i].address);
		if (special != 0)
			return special;
	}
	return 0;
}

void safesock_decide(const void *table, size_t length, const struct safesock_blocks *blocks, const struct safesock_options *options,
		     struct safesock_identity *identities, size_t count, const char *origin, size_t origin_length,
		     uint16_t port, enum safesock_socket_kind kind, struct safesock_decision *out)
{
	out->rule_count = 0;
	out->reason = NULL;
	out->allowed = 0;
	if (kind != SAFESOCK_KIND_STREAM && options->datagrams != SAFESOCK_OPTION_ALLOW)
		return deny(out, "datagrams deny");
	for (size_t i = 0; i < count; i++)
		identities[i].is_origin = origin_length > 0 && identities[i].text_length == origin_length &&
					  memcmp(identities[i].text, origin, origin_length) == 0;
	size_t written = 0;
	uint32_t kinds = 0;
	int32_t verdict = safesock_table_decide(table, length, blocks, identities, count, port, out->rules,
						SAFESOCK_DECISION_RULES, &written, &kinds);
	out->rule_count = (uint32_t)(written < SAFESOCK_DECISION_RULES ? written : SAFESOCK_DECISION_RULES);
#ifdef SAFESOCK_TEST_FLIP_PORT
	/* A deliberately broken library, for the test that `verify` notices. */
	if (port == SAFESOCK_TEST_FLIP_PORT && verdict >= 0)
		verdict = verdict == 1 ? 0 : 1;
#endif
	if (verdict == 1) {
		int32_t special = special_by_name(options, identities, count, kinds);
		if (special != 0)
			return deny(out, safesock_special_reason(special));
		out->allowed = 1;
		return;
	}
	deny(out, verdict == -2 ? "table corrupt: a block does not match its sum" : verdict < 0 ? "table unreadable" : NULL);
}

void safesock_decide_serving(const struct safesock_options *options, int32_t port, struct safesock_decision *out)
{
	out->rule_count = 0;
	out->reason = NULL;
	out->allowed = 1;
	if (port == 0 || options->servers == SAFESOCK_OPTION_ALLOW)
		return;
	deny(out, "servers deny");
}

