/* SPDX-License-Identifier: MIT */
/*
 * Strings for enum domino_err: one table, indexed by code, so a new code
 * without strings fails the static assertion below.
 */
#include <string.h>

#include "err.h"

static const struct {
	const char *code;
	const char *text;
} errs[] = {
	[DOMINO_OK] = {"ok", "success"},
	[DOMINO_ENOMEM] = {"no_memory", "out of memory"},
	[DOMINO_EINVAL] = {"invalid", "invalid argument or malformed input"},
	[DOMINO_ETRUNC] = {"invalid", "input is truncated"},
	[DOMINO_ETOOBIG] = {"too_large", "input exceeds a size, count or depth limit"},
	[DOMINO_EPROTO] = {"invalid", "input does not follow the protocol"},
	[DOMINO_ENOTFOUND] = {"not_found", "not found"},
	[DOMINO_EUNAUTH] = {"unauthorized", "missing or wrong token or signature"},
	[DOMINO_ECONFLICT] = {"conflict", "conflicts with the current state"},
	[DOMINO_EUNAVAIL] = {"unavailable", "temporarily unavailable, try again"},
	[DOMINO_ETIMEDOUT] = {"timeout", "timed out"},
	[DOMINO_ECLOSED] = {"closed", "handle or connection is closed"},
	[DOMINO_ESTORE] = {"store", "storage failure"},
	[DOMINO_EIO] = {"io", "file or system error"},
	[DOMINO_ETRANSPORT] = {"transport", "connection failure"},
	[DOMINO_EREMOTE] = {"remote", "the broker answered with an error"},
	[DOMINO_EINTERNAL] = {"internal", "internal error"},
	[DOMINO_EFULL] = {"unavailable", "storage or queue is full"},
};

_Static_assert(sizeof(errs) / sizeof(errs[0]) == DOMINO_ERR_COUNT,
    "every enum domino_err code needs strings");

const char *
domino_strerror(int err)
{
	if (err < 0 || err >= DOMINO_ERR_COUNT || errs[err].text == NULL)
		return "unknown error";
	return errs[err].text;
}

const char *
domino_errcode(int err)
{
	if (err < 0 || err >= DOMINO_ERR_COUNT || errs[err].code == NULL)
		return "internal";
	return errs[err].code;
}

int
domino_err_from_code(const char *code)
{
	if (code == NULL)
		return DOMINO_EREMOTE;
	for (int i = 1; i < DOMINO_ERR_COUNT; i++)
		if (strcmp(errs[i].code, code) == 0)
			return i;
	return DOMINO_EREMOTE;
}
