/* SPDX-License-Identifier: MIT */
/* The delivery retry schedule: default steps, overrides, jitter bounds. */
#include <criterion/criterion.h>
#include <msgpack.h>
#include <sodium.h>
#include <stdlib.h>

#include "deliver.h"

static const int64_t std_ms[] = {0, 5000, 300000, 1800000, 7200000,
	18000000, 36000000, 50400000, 72000000, 86400000};

Test(backoff, default_schedule_is_standard_webhooks_then_dead)
{
	for (unsigned a = 0; a < 10; a++)
		cr_assert_eq(deliver_backoff_ms(NULL, 0, a, 0), std_ms[a], "attempt %u", a);
	cr_assert_eq(deliver_backoff_ms(NULL, 0, 10, 0), -1);
}

Test(backoff, jitter_stays_within_ten_percent)
{
	cr_assert_eq(sodium_init() >= 0, 1);
	for (int i = 0; i < 1000; i++) {
		int64_t d = deliver_backoff_ms(NULL, 0, 2, 1);
		cr_assert(d >= 270000 && d <= 330000, "%lld", (long long)d);
	}
	cr_assert_eq(deliver_backoff_ms(NULL, 0, 0, 1), 0, "no jitter at once");
}

static char *
policy(size_t *len, int with_max)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 1 + with_max);
	msgpack_pack_str_with_body(&pk, "schedule", 8);
	msgpack_pack_array(&pk, 3);
	msgpack_pack_str_with_body(&pk, "0s", 2);
	msgpack_pack_str_with_body(&pk, "2s", 2);
	msgpack_pack_uint32(&pk, 750);
	if (with_max) {
		msgpack_pack_str_with_body(&pk, "max_attempts", 12);
		msgpack_pack_uint32(&pk, 5);
	}
	*len = sb.size;
	return msgpack_sbuffer_release(&sb);
}

Test(backoff, listener_schedule_and_max_attempts_override)
{
	size_t len;
	char *p = policy(&len, 0);

	cr_assert_eq(deliver_backoff_ms(p, len, 1, 0), 2000);
	cr_assert_eq(deliver_backoff_ms(p, len, 2, 0), 750);
	cr_assert_eq(deliver_backoff_ms(p, len, 3, 0), -1, "the schedule's length is the default max");
	free(p);
	p = policy(&len, 1);
	cr_assert_eq(deliver_backoff_ms(p, len, 3, 0), 750, "past the end, the last step repeats");
	cr_assert_eq(deliver_backoff_ms(p, len, 4, 0), 750);
	cr_assert_eq(deliver_backoff_ms(p, len, 5, 0), -1);
	free(p);
}
