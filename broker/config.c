/* SPDX-License-Identifier: MIT */
/*
 * Configuration loading; see config.h.
 *
 * libcyaml checks the structure (known keys, mappings where mappings
 * belong, no duplicates) against a schema whose leaves are all strings;
 * this file then parses every value itself, so sizes, durations, booleans
 * and numbers are checked the same way and each error names its key.
 * libcyaml's messages do not always carry the right line (for an unknown
 * key it reports where the previous value ended), so the line is found by
 * looking for the key path in the text. It also owns <data>/sources.yaml,
 * the generated webhook credentials. It does not create the data directory.
 */
#include <ctype.h>
#include <cyaml/cyaml.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "config.h"
#include "err.h"
#include "msg.h"

/* A config file is a few hundred bytes; this only stops a wrong path
 * (a log file, a device) from being read whole. */
#define CONFIG_FILE_MAX (1u << 20)
#define STR_MAX 4096

static const char *const source_names[SRC_COUNT] = {
	[SRC_GITHUB] = "github",
	[SRC_GITLAB] = "gitlab",
	[SRC_GITEA] = "gitea",
	[SRC_BITBUCKET] = "bitbucket",
	[SRC_GERRIT] = "gerrit",
	[SRC_GENERIC] = "generic",
};

/* The credential each forge checks by default, generated on first start:
 * HMAC forges get a secret, token forges a token (DESIGN's example config). */
static const bool source_uses_token[SRC_COUNT] = {
	[SRC_GITLAB] = true,
	[SRC_GERRIT] = true,
	[SRC_GENERIC] = true,
};

const char *
config_source_name(enum source_id id)
{
	if ((int)id < 0 || id >= SRC_COUNT)
		return NULL;
	return source_names[id];
}

/* ---- the raw document, as libcyaml fills it ---------------------------- */

struct raw_cred {
	char *secret;
	char *token;
};

struct raw_sources {
	struct raw_cred *src[SRC_COUNT];
};

struct raw_listen {
	char *http, *pub, *control, *admin;
};

struct raw_limits {
	char *max_body, *max_control;
	char *rate, *burst, *max_subscribers, *max_listeners;
};

struct raw_retention {
	char *max_age, *max_events, *max_bytes;
	char *interval;
};

struct raw_writer {
	char *batch_max, *queue_max;
};

struct raw_log {
	char *level, *format;
};

struct raw_plugins {
	char *dir;
};

struct raw_callbacks {
	char *allow_private;
};

struct raw_graph {
	char *max_depth;
};

struct raw_tls {
	char *cert, *key, *ca;
};

struct raw_delivery {
	char *workers, *per_listener, *disable_after;
};

struct raw_config {
	char *data_dir;
	struct raw_listen *listen;
	struct raw_sources *sources;
	struct raw_limits *limits;
	struct raw_retention *retention;
	struct raw_writer *writer;
	char *heartbeat;
	char *store_payload;
	struct raw_log *log;
	struct raw_plugins *plugins;
	struct raw_callbacks *callbacks;
	struct raw_graph *graph;
	struct raw_delivery *delivery;
	struct raw_tls *tls;
};

#define OPT (CYAML_FLAG_POINTER | CYAML_FLAG_OPTIONAL)
#define STR(key, type, member) \
	CYAML_FIELD_STRING_PTR(key, OPT, type, member, 0, STR_MAX)
#define MAP(key, type, member, fields) \
	CYAML_FIELD_MAPPING_PTR(key, OPT, type, member, fields)

static const cyaml_schema_field_t cred_fields[] = {
	STR("secret", struct raw_cred, secret),
	STR("token", struct raw_cred, token),
	CYAML_FIELD_END
};

static const cyaml_schema_field_t sources_fields[] = {
	MAP("github", struct raw_sources, src[SRC_GITHUB], cred_fields),
	MAP("gitlab", struct raw_sources, src[SRC_GITLAB], cred_fields),
	MAP("gitea", struct raw_sources, src[SRC_GITEA], cred_fields),
	MAP("bitbucket", struct raw_sources, src[SRC_BITBUCKET], cred_fields),
	MAP("gerrit", struct raw_sources, src[SRC_GERRIT], cred_fields),
	MAP("generic", struct raw_sources, src[SRC_GENERIC], cred_fields),
	CYAML_FIELD_END
};

static const cyaml_schema_field_t listen_fields[] = {
	STR("http", struct raw_listen, http),
	STR("pub", struct raw_listen, pub),
	STR("control", struct raw_listen, control),
	STR("admin", struct raw_listen, admin),
	CYAML_FIELD_END
};

static const cyaml_schema_field_t limits_fields[] = {
	STR("max_body", struct raw_limits, max_body),
	STR("max_control", struct raw_limits, max_control),
	STR("rate", struct raw_limits, rate),
	STR("burst", struct raw_limits, burst),
	STR("max_subscribers", struct raw_limits, max_subscribers),
	STR("max_listeners", struct raw_limits, max_listeners),
	CYAML_FIELD_END
};

static const cyaml_schema_field_t retention_fields[] = {
	STR("max_age", struct raw_retention, max_age),
	STR("max_events", struct raw_retention, max_events),
	STR("max_bytes", struct raw_retention, max_bytes),
	STR("interval", struct raw_retention, interval),
	CYAML_FIELD_END
};

static const cyaml_schema_field_t writer_fields[] = {
	STR("batch_max", struct raw_writer, batch_max),
	STR("queue_max", struct raw_writer, queue_max),
	CYAML_FIELD_END
};

static const cyaml_schema_field_t log_fields[] = {
	STR("level", struct raw_log, level),
	STR("format", struct raw_log, format),
	CYAML_FIELD_END
};

static const cyaml_schema_field_t plugins_fields[] = {
	STR("dir", struct raw_plugins, dir),
	CYAML_FIELD_END
};

static const cyaml_schema_field_t callbacks_fields[] = {
	STR("allow_private", struct raw_callbacks, allow_private),
	CYAML_FIELD_END
};

static const cyaml_schema_field_t graph_fields[] = {
	STR("max_depth", struct raw_graph, max_depth),
	CYAML_FIELD_END
};

static const cyaml_schema_field_t delivery_fields[] = {
	STR("workers", struct raw_delivery, workers),
	STR("per_listener", struct raw_delivery, per_listener),
	STR("disable_after", struct raw_delivery, disable_after),
	CYAML_FIELD_END
};

static const cyaml_schema_field_t tls_fields[] = {
	STR("cert", struct raw_tls, cert),
	STR("key", struct raw_tls, key),
	STR("ca", struct raw_tls, ca),
	CYAML_FIELD_END
};

static const cyaml_schema_field_t config_fields[] = {
	STR("data_dir", struct raw_config, data_dir),
	MAP("listen", struct raw_config, listen, listen_fields),
	MAP("sources", struct raw_config, sources, sources_fields),
	MAP("limits", struct raw_config, limits, limits_fields),
	MAP("retention", struct raw_config, retention, retention_fields),
	MAP("writer", struct raw_config, writer, writer_fields),
	STR("heartbeat", struct raw_config, heartbeat),
	STR("store_payload", struct raw_config, store_payload),
	MAP("log", struct raw_config, log, log_fields),
	MAP("plugins", struct raw_config, plugins, plugins_fields),
	MAP("callbacks", struct raw_config, callbacks, callbacks_fields),
	MAP("graph", struct raw_config, graph, graph_fields),
	MAP("delivery", struct raw_config, delivery, delivery_fields),
	MAP("tls", struct raw_config, tls, tls_fields),
	CYAML_FIELD_END
};

static const cyaml_schema_value_t config_schema = {
	CYAML_VALUE_MAPPING(CYAML_FLAG_POINTER, struct raw_config,
	    config_fields),
};

/* sources.yaml has the shape of the config's sources: section. */
static const cyaml_schema_value_t sources_schema = {
	CYAML_VALUE_MAPPING(CYAML_FLAG_POINTER, struct raw_sources,
	    sources_fields),
};

/* ---- error reporting ---------------------------------------------------- */

/* What libcyaml said while loading, one message per line. */
struct cylog {
	char buf[2048];
	size_t len;
};

static void
cylog_fn(cyaml_log_t level, void *ctx, const char *fmt, va_list ap)
{
	struct cylog *l = ctx;
	int n;

	if (level < CYAML_LOG_ERROR || l->len + 1 >= sizeof(l->buf))
		return;
	n = vsnprintf(l->buf + l->len, sizeof(l->buf) - l->len, fmt, ap);
	if (n < 0)
		return;
	l->len += (size_t)n;
	if (l->len >= sizeof(l->buf))
		l->len = sizeof(l->buf) - 1;
}

/* One document being loaded: its name for messages, its text for lines. */
struct doc {
	const char *name;
	const char *text;
	size_t len;
	char *err;
	size_t errlen;
};

static void
set_err(const struct doc *d, size_t line, const char *key, const char *fmt,
    ...) __attribute__((format(printf, 4, 5)));

/* Copy src into dst (cap bytes) on one line: control characters become
 * escapes, since values and keys quoted from the file may span lines. */
static void
one_line(char *dst, size_t cap, const char *src)
{
	size_t o = 0;

	for (const char *p = src; *p != '\0' && o + 5 < cap; p++) {
		unsigned char c = (unsigned char)*p;
		if (c == '\n') {
			dst[o++] = '\\';
			dst[o++] = 'n';
		} else if (c < 0x20 || c == 0x7f) {
			o += (size_t)snprintf(dst + o, cap - o, "\\x%02x", c);
		} else {
			dst[o++] = (char)c;
		}
	}
	dst[o] = '\0';
}

static void
set_err(const struct doc *d, size_t line, const char *key, const char *fmt,
    ...)
{
	char raw[512], msg[512], k[160];
	va_list ap;

	if (d->err == NULL || d->errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	one_line(msg, sizeof(msg), raw);
	if (key != NULL) {
		one_line(k, sizeof(k), key);
		key = k;
	}
	if (line > 0 && key != NULL)
		snprintf(d->err, d->errlen, "%s:%zu: %s: %s", d->name, line,
		    key, msg);
	else if (line > 0)
		snprintf(d->err, d->errlen, "%s:%zu: %s", d->name, line, msg);
	else if (key != NULL)
		snprintf(d->err, d->errlen, "%s: %s: %s", d->name, key, msg);
	else
		snprintf(d->err, d->errlen, "%s: %s", d->name, msg);
}

static size_t
line_at(const char *text, size_t off)
{
	size_t line = 1;

	for (size_t i = 0; i < off; i++)
		line += text[i] == '\n';
	return line;
}

/* Whether text[off] sits after a '#' that starts a comment on its line. */
static bool
in_comment(const char *text, size_t off)
{
	size_t i = off;

	while (i > 0 && text[i - 1] != '\n')
		i--;
	for (; i < off; i++)
		if (text[i] == '#' &&
		    (i == 0 || isspace((unsigned char)text[i - 1])))
			return true;
	return false;
}

/*
 * Find `key:` (optionally quoted) from offset *pos on, as a whole word in
 * key position: after indentation, '{', ',', '-' or "? ". On success *pos
 * is the offset just after the key and its offset is returned via *at.
 */
static bool
find_key(const char *text, size_t len, size_t *pos, const char *key,
    size_t *at)
{
	size_t kn = strlen(key);

	for (size_t i = *pos; kn > 0 && i + kn <= len; i++) {
		size_t s = i, e = i + kn;

		if (memcmp(text + i, key, kn) != 0)
			continue;
		if (s > 0 && (text[s - 1] == '"' || text[s - 1] == '\''))
			s--;
		if (e < len && (text[e] == '"' || text[e] == '\''))
			e++;
		if (s > 0) {
			char c = text[s - 1];
			if (!isspace((unsigned char)c) && c != '{' && c != ',')
				continue;
		}
		while (e < len && (text[e] == ' ' || text[e] == '\t'))
			e++;
		if (e >= len || text[e] != ':')
			continue;
		if (in_comment(text, i))
			continue;
		*at = i;
		*pos = e + 1;
		return true;
	}
	return false;
}

/*
 * The line of a dotted key path ("limits.max_body") in the text: each part
 * is searched after its parent. nth > 1 finds a later occurrence of the
 * last part (duplicate keys). 0 when not found.
 */
static size_t
key_line(const struct doc *d, const char *path, int nth)
{
	char part[128];
	const char *p = path;
	size_t pos = 0, at = 0;

	if (d->text == NULL || path == NULL)
		return 0;
	while (*p != '\0') {
		size_t n = strcspn(p, ".");
		bool last = p[n] == '\0';

		if (n == 0 || n >= sizeof(part))
			return 0;
		memcpy(part, p, n);
		part[n] = '\0';
		for (int k = 0; k < (last ? nth : 1); k++)
			if (!find_key(d->text, d->len, &pos, part, &at))
				return 0;
		p += n + !last;
	}
	return line_at(d->text, at);
}

/* Ask libyaml itself where the syntax error is; libcyaml drops the mark. */
static void
syntax_error(const struct doc *d)
{
	yaml_parser_t p;
	yaml_event_t ev;
	size_t line = 0;
	char problem[200] = "invalid YAML";

	if (!yaml_parser_initialize(&p)) {
		set_err(d, 0, NULL, "YAML syntax error");
		return;
	}
	yaml_parser_set_input_string(&p, (const unsigned char *)d->text,
	    d->len);
	for (;;) {
		bool end;

		if (!yaml_parser_parse(&p, &ev)) {
			line = p.problem_mark.line + 1;
			if (p.problem != NULL)
				snprintf(problem, sizeof(problem), "%s",
				    p.problem);
			break;
		}
		end = ev.type == YAML_STREAM_END_EVENT;
		yaml_event_delete(&ev);
		if (end)
			break;
	}
	yaml_parser_delete(&p);
	set_err(d, line, NULL, "YAML syntax error: %s", problem);
}

/* "SCALAR" -> "a scalar value" for libcyaml's "Expecting X, got event: Y". */
static const char *
yaml_what(const char *s)
{
	if (strncmp(s, "MAPPING", 7) == 0)
		return "a mapping";
	if (strncmp(s, "SEQUENCE", 8) == 0)
		return "a list";
	if (strncmp(s, "SCALAR", 6) == 0 || strncmp(s, "STRING", 6) == 0)
		return "a single value";
	if (strncmp(s, "ALIAS", 5) == 0)
		return "an alias (not supported)";
	return "something else";
}

/*
 * Turn libcyaml's log ("Load: Unexpected key: bad", "Backtrace:", then
 * "  in mapping field 'limits' (line: 3, column: 3)" innermost first) into
 * one message naming the key path and its line.
 */
static void
cyaml_error(const struct doc *d, const struct cylog *l, cyaml_err_t e)
{
	char first[256] = "", path[256] = "";
	const char *names[16];
	size_t name_len[16];
	size_t nnames = 0, cy_line = 0;
	const char *p = l->buf, *msg;

	if (e == CYAML_ERR_LIBYAML_PARSER) {
		syntax_error(d);
		return;
	}
	while (*p != '\0') {
		size_t n = strcspn(p, "\n");
		const char *f = memmem(p, n, "in mapping field '", 18);

		if (first[0] == '\0' && n > 0) {
			snprintf(first, sizeof(first), "%.*s", (int)n, p);
		} else if (f != NULL && nnames < 16) {
			const char *q = f + 18;
			const char *end = memchr(q, '\'', n - (size_t)(q - p));
			const char *ln = memmem(p, n, "(line: ", 7);

			if (end != NULL) {
				names[nnames] = q;
				name_len[nnames++] = (size_t)(end - q);
			}
			if (ln != NULL && cy_line == 0)
				cy_line = strtoul(ln + 7, NULL, 10);
		}
		p += n + (p[n] == '\n');
	}
	/* Outermost first. */
	for (size_t i = nnames; i > 0; i--) {
		size_t used = strlen(path);
		snprintf(path + used, sizeof(path) - used, "%s%.*s",
		    used ? "." : "", (int)name_len[i - 1], names[i - 1]);
	}
	msg = first;
	if (strncmp(msg, "Load: ", 6) == 0)
		msg += 6;

	if (strncmp(msg, "Unexpected key: ", 16) == 0) {
		size_t used = strlen(path);
		snprintf(path + used, sizeof(path) - used, "%s%s",
		    used ? "." : "", msg + 16);
		set_err(d, key_line(d, path, 1), path, "unknown key");
	} else if (strncmp(msg, "Mapping field already seen: ", 28) == 0) {
		set_err(d, key_line(d, path, 2), path, "duplicate key");
	} else if (strncmp(msg, "Expecting ", 10) == 0) {
		const char *got = strstr(msg, "event: ");
		set_err(d, cy_line ? cy_line : key_line(d, path, 1),
		    path[0] ? path : NULL, "expected %s, found %s",
		    yaml_what(msg + 10),
		    got ? yaml_what(got + 7) : "another type");
	} else if (e == CYAML_ERR_ALIAS) {
		set_err(d, cy_line, path[0] ? path : NULL,
		    "YAML aliases are not supported");
	} else {
		set_err(d, cy_line ? cy_line : key_line(d, path, 1),
		    path[0] ? path : NULL, "%s",
		    msg[0] ? msg : cyaml_strerror(e));
	}
}

/* Load text with a schema; DOMINO_OK with *out (may be NULL for an empty
 * document) or DOMINO_EINVAL with the error set. */
static int
load_yaml(const struct doc *d, const cyaml_schema_value_t *schema, void **out)
{
	struct cylog l = {.len = 0};
	cyaml_config_t cc = {
		.log_fn = cylog_fn,
		.log_ctx = &l,
		.mem_fn = cyaml_mem,
		.log_level = CYAML_LOG_WARNING,
		/* Nothing in a config needs aliases, and refusing them keeps
		 * alias bombs out. */
		.flags = CYAML_CFG_NO_ALIAS,
	};
	cyaml_err_t e;

	l.buf[0] = '\0';
	*out = NULL;
	e = cyaml_load_data((const uint8_t *)d->text, d->len, &cc, schema, out,
	    NULL);
	if (e == CYAML_OK)
		return DOMINO_OK;
	if (e == CYAML_ERR_OOM) {
		set_err(d, 0, NULL, "out of memory");
		return DOMINO_ENOMEM;
	}
	cyaml_error(d, &l, e);
	return DOMINO_EINVAL;
}

static void
free_yaml(const cyaml_schema_value_t *schema, void *data)
{
	cyaml_config_t cc = {.mem_fn = cyaml_mem, .log_level = CYAML_LOG_ERROR};

	if (data != NULL)
		cyaml_free(&cc, schema, data, 0);
}

/* Credentials pass through cyaml's memory: wipe them before it frees. */
static void
wipe_raw_sources(struct raw_sources *rs)
{
	if (rs == NULL)
		return;
	for (int i = 0; i < SRC_COUNT; i++) {
		struct raw_cred *c = rs->src[i];
		if (c == NULL)
			continue;
		if (c->secret != NULL)
			sodium_memzero(c->secret, strlen(c->secret));
		if (c->token != NULL)
			sodium_memzero(c->token, strlen(c->token));
	}
}

/* ---- value parsers ------------------------------------------------------ */

static bool
mul_ok(uint64_t a, uint64_t b, uint64_t *out)
{
	if (b != 0 && a > UINT64_MAX / b)
		return false;
	*out = a * b;
	return true;
}

/* Leading decimal digits of *s into *v; advances *s. */
static bool
parse_digits(const char **s, uint64_t *v)
{
	const char *p = *s;

	if (!isdigit((unsigned char)*p))
		return false;
	*v = 0;
	for (; isdigit((unsigned char)*p); p++) {
		uint64_t d = (uint64_t)(*p - '0');
		if (*v > (UINT64_MAX - d) / 10)
			return false;
		*v = *v * 10 + d;
	}
	*s = p;
	return true;
}

/*
 * Sizes: a number with an optional unit, case-insensitive. k/m/g/t and
 * KiB/MiB/GiB/TiB are powers of 1024; KB/MB/GB/TB powers of 1000; B or
 * nothing means bytes. One space between number and unit is allowed.
 */
int
config_parse_size(const char *s, uint64_t *out)
{
	static const struct {
		const char *unit;
		uint64_t mul;
	} units[] = {
		{"", 1}, {"b", 1},
		{"k", 1ull << 10}, {"kib", 1ull << 10}, {"kb", 1000ull},
		{"m", 1ull << 20}, {"mib", 1ull << 20}, {"mb", 1000000ull},
		{"g", 1ull << 30}, {"gib", 1ull << 30}, {"gb", 1000000000ull},
		{"t", 1ull << 40}, {"tib", 1ull << 40},
		{"tb", 1000000000000ull},
	};
	uint64_t v;

	if (s == NULL || !parse_digits(&s, &v))
		return DOMINO_EINVAL;
	/* "25 MiB" reads well; "25 " is a typo. */
	if (s[0] == ' ' && s[1] != '\0')
		s++;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcasecmp(s, units[i].unit) == 0)
			return mul_ok(v, units[i].mul, out) ? DOMINO_OK :
			    DOMINO_EINVAL;
	return DOMINO_EINVAL;
}

/*
 * Durations: one or more number+unit pairs ("1h30m"), units ms, s, m, h,
 * d, w; a bare number is seconds. Result in milliseconds.
 */
int
config_parse_duration_ms(const char *s, uint64_t *ms)
{
	static const struct {
		const char *unit;
		uint64_t mul;
	} units[] = {
		/* "ms" before "m", so the longer unit wins. */
		{"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000},
		{"d", 86400000}, {"w", 604800000},
	};
	uint64_t total = 0, v, part;

	if (s == NULL || *s == '\0')
		return DOMINO_EINVAL;
	if (s[strspn(s, "0123456789")] == '\0') {
		if (!parse_digits(&s, &v) || !mul_ok(v, 1000, &part))
			return DOMINO_EINVAL;
		*ms = part;
		return DOMINO_OK;
	}
	while (*s != '\0') {
		size_t i, n = sizeof(units) / sizeof(units[0]);

		if (!parse_digits(&s, &v))
			return DOMINO_EINVAL;
		for (i = 0; i < n; i++) {
			size_t ul = strlen(units[i].unit);
			if (strncmp(s, units[i].unit, ul) == 0 &&
			    !isalpha((unsigned char)s[ul]))
				break;
		}
		if (i == n)
			return DOMINO_EINVAL;
		s += strlen(units[i].unit);
		if (!mul_ok(v, units[i].mul, &part) ||
		    part > UINT64_MAX - total)
			return DOMINO_EINVAL;
		total += part;
	}
	*ms = total;
	return DOMINO_OK;
}

int
config_parse_duration(const char *s, uint64_t *seconds)
{
	uint64_t ms;

	/* Whole seconds only: a sub-second retention is surely a typo. */
	if (config_parse_duration_ms(s, &ms) != DOMINO_OK || ms % 1000 != 0)
		return DOMINO_EINVAL;
	*seconds = ms / 1000;
	return DOMINO_OK;
}

static int
parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = {"true", "yes", "on", "1"};
	static const char *const no[] = {"false", "no", "off", "0"};

	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return DOMINO_OK;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return DOMINO_OK;
		}
	}
	return DOMINO_EINVAL;
}

/* ---- applying the raw document ----------------------------------------- */

static int
set_str(char **dst, const char *val)
{
	char *c = strdup(val);

	if (c == NULL)
		return DOMINO_ENOMEM;
	free(*dst);
	*dst = c;
	return DOMINO_OK;
}

static int
secret_dup(char **dst, const char *val)
{
	char *c = strdup(val);

	if (c == NULL)
		return DOMINO_ENOMEM;
	if (*dst != NULL) {
		sodium_memzero(*dst, strlen(*dst));
		free(*dst);
	}
	*dst = c;
	return DOMINO_OK;
}

/* Each setter: val NULL = key absent, keep the default. */
static int
apply_size(const struct doc *d, const char *key, const char *val,
    uint64_t min, uint64_t *dst)
{
	uint64_t v;

	if (val == NULL)
		return DOMINO_OK;
	if (config_parse_size(val, &v) != DOMINO_OK) {
		set_err(d, key_line(d, key, 1), key,
		    "'%s' is not a size (like 25MiB, 512k or 1048576)", val);
		return DOMINO_EINVAL;
	}
	if (v < min) {
		set_err(d, key_line(d, key, 1), key,
		    "'%s' is below the minimum of %llu bytes", val,
		    (unsigned long long)min);
		return DOMINO_EINVAL;
	}
	*dst = v;
	return DOMINO_OK;
}

static int
apply_count(const struct doc *d, const char *key, const char *val,
    uint64_t min, uint64_t max, uint64_t *dst)
{
	const char *p = val;
	uint64_t v;

	if (val == NULL)
		return DOMINO_OK;
	if (!parse_digits(&p, &v) || *p != '\0' || v < min || v > max) {
		set_err(d, key_line(d, key, 1), key,
		    "'%s' is not a whole number from %llu to %llu", val,
		    (unsigned long long)min, (unsigned long long)max);
		return DOMINO_EINVAL;
	}
	*dst = v;
	return DOMINO_OK;
}

static int
apply_bool(const struct doc *d, const char *key, const char *val, bool *dst)
{
	if (val == NULL)
		return DOMINO_OK;
	if (parse_bool(val, dst) != DOMINO_OK) {
		set_err(d, key_line(d, key, 1), key,
		    "'%s' is not true or false", val);
		return DOMINO_EINVAL;
	}
	return DOMINO_OK;
}

static int
apply_choice(const struct doc *d, const char *key, const char *val,
    const char *const *choices, const char *list, char **dst)
{
	if (val == NULL)
		return DOMINO_OK;
	for (size_t i = 0; choices[i] != NULL; i++)
		if (strcmp(val, choices[i]) == 0)
			return set_str(dst, val);
	set_err(d, key_line(d, key, 1), key, "'%s' is not one of %s", val,
	    list);
	return DOMINO_EINVAL;
}

/* A listen address: http(s):// for the HTTP servers, any nng URL else. */
static int
apply_url(const struct doc *d, const char *key, const char *val, bool http,
    char **dst)
{
	const char *sep;

	if (val == NULL)
		return DOMINO_OK;
	sep = strstr(val, "://");
	if (sep == NULL || sep == val || sep[3] == '\0' ||
	    (http && strncmp(val, "http://", 7) != 0 &&
	    strncmp(val, "https://", 8) != 0)) {
		set_err(d, key_line(d, key, 1), key,
		    "'%s' is not a URL like %s", val,
		    http ? "http://127.0.0.1:8700" : "tcp://127.0.0.1:8701");
		return DOMINO_EINVAL;
	}
	return set_str(dst, val);
}

static int
apply_path(const struct doc *d, const char *key, const char *val, char **dst)
{
	if (val == NULL)
		return DOMINO_OK;
	if (val[0] == '\0') {
		set_err(d, key_line(d, key, 1), key, "must not be empty");
		return DOMINO_EINVAL;
	}
	return set_str(dst, val);
}

static int
apply_sources(const struct doc *d, const struct raw_sources *rs,
    struct config *c)
{
	int rv = DOMINO_OK;

	c->sources_default = false;
	for (int i = 0; i < SRC_COUNT && rv == DOMINO_OK; i++) {
		const struct raw_cred *rc = rs->src[i];
		struct source_config *sc = &c->sources[i];

		sc->enabled = rc != NULL;
		if (rc == NULL)
			continue;
		if ((rc->secret != NULL && rc->secret[0] == '\0') ||
		    (rc->token != NULL && rc->token[0] == '\0')) {
			char key[64];
			snprintf(key, sizeof(key), "sources.%s.%s",
			    source_names[i],
			    rc->secret != NULL && rc->secret[0] == '\0' ?
			    "secret" : "token");
			set_err(d, key_line(d, key, 1), key,
			    "must not be empty (leave it out to generate one)");
			return DOMINO_EINVAL;
		}
		if (rc->secret != NULL)
			rv = secret_dup(&sc->secret, rc->secret);
		if (rv == DOMINO_OK && rc->token != NULL)
			rv = secret_dup(&sc->token, rc->token);
	}
	return rv;
}

static int
apply(const struct doc *d, const struct raw_config *r, struct config *c,
    bool *plugins_set)
{
	static const char *const levels[] = {"error", "warn", "info", "debug",
		NULL};
	static const char *const formats[] = {"human", "json", NULL};
	uint64_t v;
	int rv = DOMINO_OK;

	*plugins_set = false;
	rv = apply_path(d, "data_dir", r->data_dir, &c->data_dir);
	if (rv == DOMINO_OK && r->listen != NULL) {
		const struct raw_listen *l = r->listen;
		rv = apply_url(d, "listen.http", l->http, true,
		    &c->listen.http);
		if (rv == DOMINO_OK)
			rv = apply_url(d, "listen.pub", l->pub, false,
			    &c->listen.pub);
		if (rv == DOMINO_OK)
			rv = apply_url(d, "listen.control", l->control, false,
			    &c->listen.control);
		if (rv == DOMINO_OK)
			rv = apply_url(d, "listen.admin", l->admin, true,
			    &c->listen.admin);
	}
	if (rv == DOMINO_OK && r->sources != NULL)
		rv = apply_sources(d, r->sources, c);
	if (rv == DOMINO_OK && r->limits != NULL) {
		rv = apply_size(d, "limits.max_body", r->limits->max_body, 1,
		    &c->limits.max_body);
		if (rv == DOMINO_OK)
			rv = apply_size(d, "limits.max_control",
			    r->limits->max_control, MSG_MIN,
			    &c->limits.max_control);
		if (rv == DOMINO_OK)
			rv = apply_count(d, "limits.rate", r->limits->rate, 0,
			    1000000, &c->limits.rate);
		if (rv == DOMINO_OK)
			rv = apply_count(d, "limits.burst", r->limits->burst, 1,
			    10000000, &c->limits.burst);
		if (rv == DOMINO_OK)
			rv = apply_count(d, "limits.max_subscribers",
			    r->limits->max_subscribers, 1, 1000000,
			    &c->limits.max_subscribers);
		if (rv == DOMINO_OK)
			rv = apply_count(d, "limits.max_listeners",
			    r->limits->max_listeners, 1, 100000000,
			    &c->limits.max_listeners);
	}
	if (rv == DOMINO_OK && r->retention != NULL) {
		const struct raw_retention *t = r->retention;
		if (t->max_age != NULL && config_parse_duration(t->max_age,
		    &c->retention.max_age_s) != DOMINO_OK) {
			set_err(d, key_line(d, "retention.max_age", 1),
			    "retention.max_age",
			    "'%s' is not a duration in whole seconds "
			    "(like 30d, 12h or 0 to keep forever)",
			    t->max_age);
			rv = DOMINO_EINVAL;
		}
		if (rv == DOMINO_OK)
			rv = apply_count(d, "retention.max_events",
			    t->max_events, 0, UINT64_MAX,
			    &c->retention.max_events);
		if (rv == DOMINO_OK)
			rv = apply_size(d, "retention.max_bytes",
			    t->max_bytes, 0, &c->retention.max_bytes);
		if (rv == DOMINO_OK && t->interval != NULL) {
			if (config_parse_duration_ms(t->interval, &v) != DOMINO_OK ||
			    v < 10 || v > 86400000) {
				set_err(d, key_line(d, "retention.interval", 1),
				    "retention.interval", "'%s' is not a duration from "
				    "10ms to 1d (like 1m)", t->interval);
				rv = DOMINO_EINVAL;
			} else {
				c->retention.interval_ms = (uint32_t)v;
			}
		}
	}
	if (rv == DOMINO_OK && r->writer != NULL) {
		v = c->writer.batch_max;
		rv = apply_count(d, "writer.batch_max", r->writer->batch_max, 1,
		    1u << 20, &v);
		c->writer.batch_max = (uint32_t)v;
		v = c->writer.queue_max;
		if (rv == DOMINO_OK)
			rv = apply_count(d, "writer.queue_max",
			    r->writer->queue_max, 1, 1u << 26, &v);
		c->writer.queue_max = (uint32_t)v;
	}
	if (rv == DOMINO_OK && r->heartbeat != NULL) {
		if (config_parse_duration_ms(r->heartbeat, &v) != DOMINO_OK ||
		    v < 10 || v > 3600000) {
			set_err(d, key_line(d, "heartbeat", 1), "heartbeat",
			    "'%s' is not a duration from 10ms to 1h (like 2s)",
			    r->heartbeat);
			rv = DOMINO_EINVAL;
		} else {
			c->heartbeat_ms = (uint32_t)v;
		}
	}
	if (rv == DOMINO_OK)
		rv = apply_bool(d, "store_payload", r->store_payload,
		    &c->store_payload);
	if (rv == DOMINO_OK && r->log != NULL) {
		rv = apply_choice(d, "log.level", r->log->level, levels,
		    "error, warn, info, debug", &c->log_level);
		if (rv == DOMINO_OK)
			rv = apply_choice(d, "log.format", r->log->format,
			    formats, "human, json", &c->log_format);
	}
	if (rv == DOMINO_OK && r->plugins != NULL && r->plugins->dir != NULL) {
		rv = apply_path(d, "plugins.dir", r->plugins->dir,
		    &c->plugins_dir);
		*plugins_set = true;
	}
	if (rv == DOMINO_OK && r->callbacks != NULL)
		rv = apply_bool(d, "callbacks.allow_private",
		    r->callbacks->allow_private, &c->allow_private_callbacks);
	if (rv == DOMINO_OK && r->graph != NULL) {
		v = c->graph_max_depth;
		rv = apply_count(d, "graph.max_depth", r->graph->max_depth, 1,
		    64, &v);
		c->graph_max_depth = (uint32_t)v;
	}
	if (rv == DOMINO_OK && r->tls != NULL) {
		rv = apply_path(d, "tls.cert", r->tls->cert, &c->tls.cert);
		if (rv == DOMINO_OK)
			rv = apply_path(d, "tls.key", r->tls->key, &c->tls.key);
		if (rv == DOMINO_OK)
			rv = apply_path(d, "tls.ca", r->tls->ca, &c->tls.ca);
	}
	if (rv == DOMINO_OK && r->delivery != NULL) {
		const struct raw_delivery *dl = r->delivery;
		v = c->delivery.workers;
		rv = apply_count(d, "delivery.workers", dl->workers, 1, 1024, &v);
		c->delivery.workers = (uint32_t)v;
		v = c->delivery.per_listener;
		if (rv == DOMINO_OK)
			rv = apply_count(d, "delivery.per_listener",
			    dl->per_listener, 1, 1024, &v);
		c->delivery.per_listener = (uint32_t)v;
		if (rv == DOMINO_OK && dl->disable_after != NULL &&
		    config_parse_duration(dl->disable_after,
		    &c->delivery.disable_after_s) != DOMINO_OK) {
			set_err(d, key_line(d, "delivery.disable_after", 1),
			    "delivery.disable_after",
			    "'%s' is not a duration (like 3d, or 0 never to disable)",
			    dl->disable_after);
			rv = DOMINO_EINVAL;
		}
	}
	if (rv == DOMINO_ENOMEM)
		set_err(d, 0, NULL, "out of memory");
	return rv;
}

/* ---- public ------------------------------------------------------------- */

void
config_free(struct config *cfg)
{
	if (cfg == NULL)
		return;
	free(cfg->data_dir);
	free(cfg->listen.http);
	free(cfg->listen.pub);
	free(cfg->listen.control);
	free(cfg->listen.admin);
	for (int i = 0; i < SRC_COUNT; i++) {
		struct source_config *s = &cfg->sources[i];
		if (s->secret != NULL) {
			sodium_memzero(s->secret, strlen(s->secret));
			free(s->secret);
		}
		if (s->token != NULL) {
			sodium_memzero(s->token, strlen(s->token));
			free(s->token);
		}
	}
	free(cfg->log_level);
	free(cfg->log_format);
	free(cfg->plugins_dir);
	free(cfg->tls.cert);
	free(cfg->tls.key);
	free(cfg->tls.ca);
	memset(cfg, 0, sizeof(*cfg));
}

static char *
join_path(const char *dir, const char *name)
{
	char *p = NULL;

	if (asprintf(&p, "%s/%s", dir, name) < 0)
		return NULL;
	return p;
}

int
config_defaults(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->data_dir = strdup("./var/domino");
	cfg->listen.http = strdup("http://127.0.0.1:8700");
	cfg->listen.pub = strdup("tcp://127.0.0.1:8701");
	cfg->listen.control = strdup("tcp://127.0.0.1:8702");
	cfg->listen.admin = strdup("http://127.0.0.1:8703");
	for (int i = 0; i < SRC_COUNT; i++)
		cfg->sources[i].enabled = true;
	cfg->sources_default = true;
	cfg->limits.max_body = 25ull << 20;
	cfg->limits.max_control = MSG_MAX_DEFAULT;
	cfg->writer.batch_max = 256;
	cfg->writer.queue_max = 65536;
	cfg->heartbeat_ms = 2000;
	cfg->graph_max_depth = 8;
	cfg->limits.rate = 0;
	cfg->limits.burst = 200;
	cfg->limits.max_subscribers = 10000;
	cfg->limits.max_listeners = 1000000;
	cfg->retention.interval_ms = 60000;
	cfg->delivery.workers = 16;
	cfg->delivery.per_listener = 4;
	cfg->delivery.disable_after_s = 3 * 86400;
	cfg->store_payload = true;
	cfg->log_level = strdup("info");
	cfg->log_format = strdup("human");
	cfg->plugins_dir = join_path("./var/domino", "plugins");
	cfg->plugins_dir_default = true;
	cfg->allow_private_callbacks = false;
	if (cfg->data_dir == NULL || cfg->listen.http == NULL ||
	    cfg->listen.pub == NULL || cfg->listen.control == NULL ||
	    cfg->listen.admin == NULL || cfg->log_level == NULL ||
	    cfg->log_format == NULL || cfg->plugins_dir == NULL) {
		config_free(cfg);
		return DOMINO_ENOMEM;
	}
	return DOMINO_OK;
}

int
config_set_data_dir(struct config *cfg, const char *dir)
{
	char *d = strdup(dir), *p = NULL;

	if (d == NULL)
		return DOMINO_ENOMEM;
	if (cfg->plugins_dir_default) {
		p = join_path(dir, "plugins");
		if (p == NULL) {
			free(d);
			return DOMINO_ENOMEM;
		}
		free(cfg->plugins_dir);
		cfg->plugins_dir = p;
	}
	free(cfg->data_dir);
	cfg->data_dir = d;
	return DOMINO_OK;
}

int
config_load_data(const char *text, size_t len, const char *name,
    struct config *cfg, char *errbuf, size_t errlen)
{
	struct doc d = {name ? name : "config", text, len, errbuf, errlen};
	struct raw_config *raw = NULL;
	struct config tmp;
	const char *nul;
	bool plugins_set = false;
	int rv;

	if (errbuf != NULL && errlen > 0)
		errbuf[0] = '\0';
	rv = config_defaults(&tmp);
	if (rv != DOMINO_OK) {
		set_err(&d, 0, NULL, "out of memory");
		goto out;
	}
	/* libyaml reads a NUL as the end of the stream; a config with one
	 * is not text, and silently ignoring its tail would hide keys. */
	nul = memchr(text, '\0', len);
	if (nul != NULL) {
		set_err(&d, line_at(text, (size_t)(nul - text)), NULL,
		    "contains a NUL byte; not a text file");
		rv = DOMINO_EINVAL;
		goto out;
	}
	rv = load_yaml(&d, &config_schema, (void **)&raw);
	if (rv != DOMINO_OK)
		goto out;
	/* An empty file (or only comments) is a valid all-defaults config. */
	if (raw != NULL) {
		rv = apply(&d, raw, &tmp, &plugins_set);
		if (rv != DOMINO_OK)
			goto out;
		if (!plugins_set) {
			rv = config_set_data_dir(&tmp, tmp.data_dir);
			if (rv != DOMINO_OK) {
				set_err(&d, 0, NULL, "out of memory");
				goto out;
			}
		}
		tmp.plugins_dir_default = !plugins_set;
	}
out:
	if (raw != NULL)
		wipe_raw_sources(raw->sources);
	free_yaml(&config_schema, raw);
	if (rv != DOMINO_OK) {
		config_free(&tmp);
		/* The header's promise: defaults only on error. If even that
		 * fails, *cfg is zeroed, which config_free accepts. */
		if (config_defaults(cfg) != DOMINO_OK)
			memset(cfg, 0, sizeof(*cfg));
		return rv;
	}
	*cfg = tmp;
	return DOMINO_OK;
}

/* Read a whole small file. DOMINO_ENOTFOUND when it does not exist. With
 * private set, refuse a file that group or others may read. */
static int
read_file(const char *path, bool private, char **out, size_t *len,
    char *errbuf, size_t errlen)
{
	struct doc d = {path, NULL, 0, errbuf, errlen};
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	int fd, rv = DOMINO_OK;

	*out = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC | (private ? O_NOFOLLOW : 0));
	if (fd < 0) {
		if (errno == ENOENT)
			return DOMINO_ENOTFOUND;
		set_err(&d, 0, NULL, "cannot open: %s", strerror(errno));
		return DOMINO_EIO;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		set_err(&d, 0, NULL, "not a regular file");
		rv = DOMINO_EIO;
		goto out;
	}
	if (private && (st.st_mode & 077) != 0) {
		set_err(&d, 0, NULL,
		    "mode %04o lets group or others read the webhook "
		    "credentials; run: chmod 600 %s",
		    (unsigned)(st.st_mode & 07777), path);
		rv = DOMINO_EINVAL;
		goto out;
	}
	if ((uint64_t)st.st_size > CONFIG_FILE_MAX) {
		set_err(&d, 0, NULL, "larger than %u bytes; not a config file",
		    CONFIG_FILE_MAX);
		rv = DOMINO_ETOOBIG;
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL) {
		set_err(&d, 0, NULL, "out of memory");
		rv = DOMINO_ENOMEM;
		goto out;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			set_err(&d, 0, NULL, "read: %s", strerror(errno));
			rv = DOMINO_EIO;
			goto out;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	buf[got] = '\0';
	*out = buf;
	*len = got;
	buf = NULL;
out:
	free(buf);
	close(fd);
	return rv;
}

int
config_load(const char *path, struct config *cfg, char *errbuf, size_t errlen)
{
	char *text = NULL;
	size_t len = 0;
	int rv;

	if (path == NULL)
		return config_load_data("", 0, "config", cfg, errbuf, errlen);
	rv = read_file(path, false, &text, &len, errbuf, errlen);
	if (rv == DOMINO_ENOTFOUND) {
		struct doc d = {path, NULL, 0, errbuf, errlen};
		set_err(&d, 0, NULL, "no such file");
		rv = DOMINO_EIO;
	}
	if (rv != DOMINO_OK) {
		if (config_defaults(cfg) != DOMINO_OK)
			memset(cfg, 0, sizeof(*cfg));
		goto out;
	}
	rv = config_load_data(text, len, path, cfg, errbuf, errlen);
out:
	free(text);
	return rv;
}

/* ---- sources.yaml ------------------------------------------------------- */

/* Write s as a double-quoted YAML scalar. */
static void
put_quoted(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(f, "\\x%02x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

static char *
random_hex(void)
{
	unsigned char b[32];
	char *hex = malloc(sizeof(b) * 2 + 1);

	if (hex == NULL)
		return NULL;
	randombytes_buf(b, sizeof(b));
	sodium_bin2hex(hex, sizeof(b) * 2 + 1, b, sizeof(b));
	sodium_memzero(b, sizeof(b));
	return hex;
}

/* The file's credentials, as plain strings we own. */
struct cred_set {
	char *secret[SRC_COUNT];
	char *token[SRC_COUNT];
};

static void
cred_set_free(struct cred_set *cs)
{
	for (int i = 0; i < SRC_COUNT; i++) {
		if (cs->secret[i] != NULL) {
			sodium_memzero(cs->secret[i], strlen(cs->secret[i]));
			free(cs->secret[i]);
		}
		if (cs->token[i] != NULL) {
			sodium_memzero(cs->token[i], strlen(cs->token[i]));
			free(cs->token[i]);
		}
	}
	memset(cs, 0, sizeof(*cs));
}

/* Parse sources.yaml text into cs. */
static int
cred_set_parse(const char *path, const char *text, size_t len,
    struct cred_set *cs, char *errbuf, size_t errlen)
{
	struct doc d = {path, text, len, errbuf, errlen};
	struct raw_sources *rs = NULL;
	int rv;

	if (memchr(text, '\0', len) != NULL) {
		set_err(&d, 0, NULL, "contains a NUL byte; not a text file");
		return DOMINO_EINVAL;
	}
	rv = load_yaml(&d, &sources_schema, (void **)&rs);
	if (rv != DOMINO_OK || rs == NULL)
		goto out;
	for (int i = 0; i < SRC_COUNT && rv == DOMINO_OK; i++) {
		const struct raw_cred *rc = rs->src[i];
		if (rc == NULL)
			continue;
		if (rc->secret != NULL && rc->secret[0] != '\0')
			rv = secret_dup(&cs->secret[i], rc->secret);
		if (rv == DOMINO_OK && rc->token != NULL &&
		    rc->token[0] != '\0')
			rv = secret_dup(&cs->token[i], rc->token);
	}
	if (rv == DOMINO_ENOMEM)
		set_err(&d, 0, NULL, "out of memory");
out:
	wipe_raw_sources(rs);
	free_yaml(&sources_schema, rs);
	return rv;
}

/*
 * Write cs to path through a temp file in the same directory, fsync'd,
 * then moved into place: link() when the file must be new (so two brokers
 * starting at once cannot both win: the loser gets ECONFLICT and rereads),
 * rename() when replacing.
 */
static int
cred_set_write(const char *dir, const char *path, const struct cred_set *cs,
    bool exclusive, char *errbuf, size_t errlen)
{
	struct doc d = {path, NULL, 0, errbuf, errlen};
	char *tmp = NULL;
	FILE *f = NULL;
	int fd = -1, dfd = -1, rv = DOMINO_EIO;

	if (asprintf(&tmp, "%s/.sources.yaml.XXXXXX", dir) < 0) {
		tmp = NULL;
		set_err(&d, 0, NULL, "out of memory");
		rv = DOMINO_ENOMEM;
		goto out;
	}
	/* mkstemp opens with O_EXCL and mode 0600. */
	fd = mkstemp(tmp);
	if (fd < 0) {
		set_err(&d, 0, NULL, "cannot create a file in %s: %s", dir,
		    strerror(errno));
		free(tmp);
		tmp = NULL;
		goto out;
	}
	if (fchmod(fd, 0600) != 0) {
		set_err(&d, 0, NULL, "chmod: %s", strerror(errno));
		goto out;
	}
	f = fdopen(fd, "w");
	if (f == NULL) {
		set_err(&d, 0, NULL, "fdopen: %s", strerror(errno));
		goto out;
	}
	fd = -1;
	fputs("# domino webhook credentials, one entry per source. Generated\n"
	    "# on first start; keep this file private (mode 0600). Point each\n"
	    "# forge's webhook secret or token at these values\n"
	    "# (`domino secret SOURCE` prints one).\n", f);
	for (int i = 0; i < SRC_COUNT; i++) {
		if (cs->secret[i] == NULL && cs->token[i] == NULL)
			continue;
		fprintf(f, "%s:\n", source_names[i]);
		if (cs->secret[i] != NULL) {
			fputs("  secret: ", f);
			put_quoted(f, cs->secret[i]);
			fputc('\n', f);
		}
		if (cs->token[i] != NULL) {
			fputs("  token: ", f);
			put_quoted(f, cs->token[i]);
			fputc('\n', f);
		}
	}
	if (fflush(f) != 0 || fsync(fileno(f)) != 0) {
		set_err(&d, 0, NULL, "write: %s", strerror(errno));
		goto out;
	}
	if (fclose(f) != 0) {
		f = NULL;
		set_err(&d, 0, NULL, "write: %s", strerror(errno));
		goto out;
	}
	f = NULL;
	if (exclusive) {
		if (link(tmp, path) != 0) {
			if (errno == EEXIST) {
				rv = DOMINO_ECONFLICT;
				goto out;
			}
			set_err(&d, 0, NULL, "cannot create: %s",
			    strerror(errno));
			goto out;
		}
	} else if (rename(tmp, path) != 0) {
		set_err(&d, 0, NULL, "cannot replace: %s", strerror(errno));
		goto out;
	}
	/* The new directory entry must survive a crash too. */
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
	rv = DOMINO_OK;
out:
	if (f != NULL)
		fclose(f);
	if (fd >= 0)
		close(fd);
	if (tmp != NULL) {
		/* After link() or a failure the temp name is still there;
		 * after rename() this fails harmlessly. */
		(void)unlink(tmp);
		free(tmp);
	}
	return rv;
}

static bool
needs_creds(const struct config *cfg)
{
	for (int i = 0; i < SRC_COUNT; i++)
		if (cfg->sources[i].enabled && cfg->sources[i].secret == NULL &&
		    cfg->sources[i].token == NULL)
			return true;
	return false;
}

int
config_load_sources_file(struct config *cfg, char *errbuf, size_t errlen)
{
	struct cred_set cs;
	char *path = NULL, *text = NULL;
	size_t len = 0;
	int rv = DOMINO_OK;

	memset(&cs, 0, sizeof(cs));
	if (errbuf != NULL && errlen > 0)
		errbuf[0] = '\0';
	if (!needs_creds(cfg))
		return DOMINO_OK;
	if (sodium_init() < 0) {
		struct doc d = {"sources.yaml", NULL, 0, errbuf, errlen};
		set_err(&d, 0, NULL, "libsodium failed to initialize");
		return DOMINO_EINTERNAL;
	}
	path = join_path(cfg->data_dir, "sources.yaml");
	if (path == NULL)
		return DOMINO_ENOMEM;

	/* Two rounds at most: the second only when another process created
	 * the file between our read and our link(). */
	for (int round = 0; round < 2; round++) {
		bool exists, dirty = false;

		cred_set_free(&cs);
		free(text);
		text = NULL;
		rv = read_file(path, true, &text, &len, errbuf, errlen);
		exists = rv == DOMINO_OK;
		if (rv != DOMINO_OK && rv != DOMINO_ENOTFOUND)
			goto out;
		rv = DOMINO_OK;
		if (exists) {
			rv = cred_set_parse(path, text, len, &cs, errbuf,
			    errlen);
			if (rv != DOMINO_OK)
				goto out;
		}
		/* Every source gets credentials in the file, enabled or not,
		 * so enabling one later keeps what a forge was told. */
		for (int i = 0; i < SRC_COUNT; i++) {
			char **slot;
			if (cs.secret[i] != NULL || cs.token[i] != NULL)
				continue;
			slot = source_uses_token[i] ? &cs.token[i] :
			    &cs.secret[i];
			*slot = random_hex();
			if (*slot == NULL) {
				rv = DOMINO_ENOMEM;
				goto out;
			}
			dirty = true;
		}
		if (dirty) {
			rv = cred_set_write(cfg->data_dir, path, &cs, !exists,
			    errbuf, errlen);
			if (rv == DOMINO_ECONFLICT)
				continue;
			if (rv != DOMINO_OK)
				goto out;
		}
		break;
	}
	if (rv != DOMINO_OK)
		goto out;

	for (int i = 0; i < SRC_COUNT; i++) {
		struct source_config *sc = &cfg->sources[i];
		if (!sc->enabled || sc->secret != NULL || sc->token != NULL)
			continue;
		if (cs.secret[i] != NULL)
			rv = secret_dup(&sc->secret, cs.secret[i]);
		if (rv == DOMINO_OK && cs.token[i] != NULL)
			rv = secret_dup(&sc->token, cs.token[i]);
		if (rv != DOMINO_OK)
			goto out;
	}
out:
	if (rv == DOMINO_ENOMEM) {
		struct doc d = {path ? path : "sources.yaml", NULL, 0, errbuf,
		    errlen};
		set_err(&d, 0, NULL, "out of memory");
	} else if (rv == DOMINO_ECONFLICT) {
		struct doc d = {path, NULL, 0, errbuf, errlen};
		set_err(&d, 0, NULL, "created by another process at the same "
		    "time twice; try again");
		rv = DOMINO_EIO;
	}
	cred_set_free(&cs);
	if (text != NULL) {
		sodium_memzero(text, len);
		free(text);
	}
	free(path);
	return rv;
}
