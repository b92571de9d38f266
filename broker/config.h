/* SPDX-License-Identifier: MIT */
/*
 * dominod's configuration: one struct loaded from YAML with libcyaml over
 * the embedded defaults. Every key has a default; an unknown key or a bad
 * value is an error naming the key (and the line when libcyaml gives it).
 * Flags override the file (main.c). This module does not open sockets or
 * create the data directory.
 */
#ifndef DOMINO_CONFIG_H
#define DOMINO_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum source_id {
	SRC_GITHUB,
	SRC_GITLAB,
	SRC_GITEA,
	SRC_BITBUCKET,
	SRC_GERRIT,
	SRC_GENERIC,
	SRC_COUNT
};

/* "github", "gitlab", ...; NULL for an out-of-range id. */
const char *config_source_name(enum source_id id);

struct source_config {
	bool enabled;  /* listed in the config (or defaults: all) */
	char *secret;  /* HMAC secret, or NULL */
	char *token;   /* shared token, or NULL */
};

struct config {
	char *data_dir;
	struct {
		char *http, *pub, *control, *admin;
	} listen;
	struct source_config sources[SRC_COUNT];
	/* true when the file had no sources: section, so every source is on
	 * and secrets come from <data>/sources.yaml, generated on first start */
	bool sources_default;
	struct {
		uint64_t max_body;      /* bytes, "25MiB" */
		uint64_t max_control;   /* bytes of one control message */
		uint64_t rate;          /* webhooks/s per source, 0 = no limit */
		uint64_t burst;         /* token bucket size for rate */
		uint64_t max_subscribers;
		uint64_t max_listeners;
	} limits;
	struct {
		uint64_t max_age_s;     /* 0 = keep forever */
		uint64_t max_events;
		uint64_t max_bytes;
		uint32_t interval_ms;   /* how often to trim, default 1m */
	} retention;
	struct {
		uint32_t batch_max;     /* events per LMDB commit */
		uint32_t queue_max;     /* queued commands before 503 */
	} writer;
	uint32_t heartbeat_ms;
	uint32_t graph_max_depth; /* transitive fan-out depth bound */
	struct {
		uint32_t workers;         /* deliveries in flight at once */
		uint32_t per_listener;    /* default in-flight limit per listener */
		uint64_t disable_after_s; /* failing this long disables; 0 never */
	} delivery;
	bool store_payload;
	char *log_level;  /* error, warn, info, debug */
	char *log_format; /* human, json */
	char *plugins_dir;
	struct {
		char *cert, *key, *ca; /* PEM files; NULL: no TLS */
	} tls;
	/* true while plugins_dir is <data_dir>/plugins by default, so
	 * config_set_data_dir() (e.g. for --data) moves it along */
	bool plugins_dir_default;
	bool allow_private_callbacks;
};

/* Fill *cfg with the embedded defaults (all strings heap copies). */
int config_defaults(struct config *cfg);

/*
 * Load the YAML file path over the defaults into *cfg. On error returns
 * DOMINO_EINVAL (or EIO) and writes a one-line reason naming the key and
 * line into errbuf; *cfg is then left with the defaults only. A NULL path
 * or an empty file gives the defaults. *cfg is overwritten, not freed.
 */
int config_load(const char *path, struct config *cfg, char *errbuf,
    size_t errlen);

/*
 * As config_load(), from text in memory; name is used in messages (the
 * file name). Used by config_load() and the fuzz target.
 */
int config_load_data(const char *text, size_t len, const char *name,
    struct config *cfg, char *errbuf, size_t errlen);

/*
 * Set data_dir (the --data flag) and, when plugins_dir was not set in the
 * file, move it to <dir>/plugins. DOMINO_OK or DOMINO_ENOMEM.
 */
int config_set_data_dir(struct config *cfg, const char *dir);

/*
 * Load <data_dir>/sources.yaml (mode 0600), creating it with a random
 * secret/token for every source on first start, and fill in each enabled
 * source's missing credentials from it. Used when sources_default is set,
 * and to fill sources the config enables without a secret. Does nothing
 * (no file access) when every enabled source already has a secret or token.
 * Refuses (DOMINO_EINVAL) a file that group or others may read. Writes go
 * through a 0600 temp file and link()/rename(), so a crash or a second
 * broker never leaves a half-written or world-readable file.
 */
int config_load_sources_file(struct config *cfg, char *errbuf, size_t errlen);

/*
 * Parse "25MiB", "1k", "1048576" / "30d", "12h", "90s". 0 on success.
 * Sizes: k/m/g/t and KiB/MiB/GiB/TiB are powers of 1024, KB/MB/GB/TB powers
 * of 1000 (case-insensitive). Durations: number+unit pairs ("1h30m") with
 * ms, s, m, h, d, w, or a bare number of seconds; config_parse_duration()
 * wants whole seconds, config_parse_duration_ms() gives milliseconds.
 */
int config_parse_size(const char *s, uint64_t *out);
int config_parse_duration(const char *s, uint64_t *seconds);
int config_parse_duration_ms(const char *s, uint64_t *ms);

/* Free every member; safe on a zeroed struct. */
void config_free(struct config *cfg);

#endif
