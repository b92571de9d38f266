/* SPDX-License-Identifier: MIT */
/*
 * External callback plugins: executables in the plugin directory that speak
 * the contract in README.md (`capabilities`, `serve --config JSON`, HTTP on
 * a unix socket). This module discovers them, turns each into a struct
 * plugin_desc that plugin_find() returns next to the built-ins, starts each
 * one lazily on its first delivery, restarts it with backoff when it exits,
 * stops it when idle, and stops them all on shutdown.
 *
 * Lifetimes: a descriptor plugin_ext_find() returned stays valid until
 * plugin_ext_stop(), also after a reload replaced or removed the plugin (it
 * is retired: its deliveries go to the replacement, or retry). Everything
 * here is thread-safe.
 */
#ifndef DOMINO_PLUGINS_EXTERNAL_H
#define DOMINO_PLUGINS_EXTERNAL_H

#include <stddef.h>
#include <stdint.h>

struct plugin_desc;

/* The contract version this broker speaks (`api` in capabilities). */
#define PLUGIN_EXT_API 1

/*
 * Scan dir (a missing directory is no plugins) and start the thread that
 * reaps and idles plugin processes. Sockets go under <data_dir>/run/ (or
 * /tmp when that path is too long for a unix socket). DOMINO_OK or an error
 * with a message in err.
 */
int plugin_ext_start(const char *dir, const char *data_dir, char *err,
    size_t errlen);

/* Rescan the directory (SIGHUP, `plugin.reload`). Unchanged plugins keep
 * their running process. Fills *n_ok and *n_broken when not NULL. */
void plugin_ext_reload(unsigned *n_ok, unsigned *n_broken);

/* Stop every plugin process and the thread; free everything. */
void plugin_ext_stop(void);

/* The working external plugin named name, or NULL. */
const struct plugin_desc *plugin_ext_find(const char *name);

/* When name is a broken external plugin: 1 with its reason in why. */
int plugin_ext_broken(const char *name, char *why, size_t whylen);

/* What the status page, `plugins` and `domino status` show of one plugin.
 * Strings are borrowed for the callback. */
struct plugin_ext_info {
	const char *name;     /* the file name: what callback.plugin names */
	const char *path;
	const char *version;  /* "" when broken */
	const char *summary;
	const char *state;    /* broken, stopped, running, restarting */
	const char *reason;   /* why broken / the last exit; "" when none */
	const struct plugin_desc *desc; /* NULL when broken */
	int pid;              /* 0 when not running */
	unsigned restarts;    /* exits seen since discovery */
};

typedef void (*plugin_ext_cb)(void *arg, const struct plugin_ext_info *info);

/*
 * Call cb for every external plugin (sorted by name), under the registry
 * lock: cb must not call back into this module. Returns how many plugins
 * are broken or restarting (0: all healthy) — what /healthz reports.
 */
int plugins_health(plugin_ext_cb cb, void *arg);

/*
 * Install a plugin: download url (http, https or file) with libcurl, check
 * its SHA-256 when sha256 (64 hex digits) is given, unpack a .tar.gz holding
 * one executable, run its `capabilities`, then rename it into the plugin
 * directory as name (or the name its capabilities declare) atomically and
 * rescan. On any failure nothing is left behind. DOMINO_OK with the
 * installed name in out_name, or an error with a message in err.
 */
int plugin_ext_install(const char *url, const char *name, const char *sha256,
    char *out_name, size_t out_len, char *err, size_t errlen);

#endif
