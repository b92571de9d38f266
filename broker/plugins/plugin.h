/* SPDX-License-Identifier: MIT */
/*
 * Callback plugins as the rest of the broker sees them: a table of built-in
 * plugins, each with its config schema (which keys are required, optional,
 * secret). Registration validates a listener's callback against it
 * (validate); a delivery worker hands one attempt to deliver. Each
 * built-in plugin lives in its own file (http.c, exec.c, nng.c, file.c)
 * and defines its descriptor; plugin.c only lists them. What every plugin
 * sends is rendered by render.h; README.md in this folder is the user's
 * reference.
 */
#ifndef DOMINO_PLUGIN_H
#define DOMINO_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

struct domino_event;
struct msgpack_object;

/* What a delivery attempt came to. */
enum plugin_outcome {
	PLUGIN_OK,    /* delivered */
	PLUGIN_RETRY, /* transient: try again later */
	PLUGIN_FAIL,  /* permanent: dead-letter now */
	PLUGIN_GONE   /* the receiver is gone for good (HTTP 410): disable the listener */
};

/* One delivery attempt, as handed to a plugin. Everything is borrowed for
 * the duration of deliver(). */
struct plugin_job {
	const char *listener;           /* listener name */
	uint64_t seq;
	unsigned attempt;               /* 1 for the first attempt */
	const struct domino_event *ev;  /* decoded, with its payload */
	const char *const *via;         /* chain of repos, via[0] = changed repo */
	size_t n_via;
	const struct msgpack_object *config; /* the listener's callback.config map */
	const char *delivery_id;        /* stable across attempts */
	int allow_private;              /* may connect to loopback/private addresses */
	const struct plugin_desc *desc; /* the descriptor deliver() belongs to */
};

struct plugin_result {
	enum plugin_outcome outcome;
	int status;             /* HTTP status or exit code; -1 when none */
	int64_t retry_after_ms; /* the receiver asked to wait this long; -1 none */
	char detail[512];       /* first bytes of the answer, stderr tail, error text */
};

struct plugin_key {
	const char *name;
	int required;
	int secret;       /* shown as "***", stored encrypted */
	const char *help; /* one line for `domino plugins --describe` */
};

struct plugin_desc {
	const char *name;
	const char *summary;
	const struct plugin_key *keys; /* terminated by a NULL name */
	/*
	 * Check config values beyond the schema (URL syntax, known format,
	 * template placeholders, durations). 0, or -1 with a message that
	 * names the key ("callback.config.format: ...") in err. May be NULL.
	 */
	int (*validate)(const struct msgpack_object *config, char *err,
	    size_t errlen);
	/*
	 * Deliver one event. Blocking, called on a delivery worker thread;
	 * it must return within its configured timeout (default per plugin)
	 * and never crash on any config the validator accepted. Fills *res.
	 */
	void (*deliver)(const struct plugin_job *job, struct plugin_result *res);
};

/* The built-in descriptors, one per file; use plugin_find() or
 * plugin_builtin[] rather than naming them. */
extern const struct plugin_desc plugin_http;
extern const struct plugin_desc plugin_exec;
extern const struct plugin_desc plugin_nng;
extern const struct plugin_desc plugin_file;

/* The built-in plugin named name, else the working external plugin of
 * that name (plugins/external.h), or NULL. The descriptor stays valid
 * until exit. */
const struct plugin_desc *plugin_find(const char *name);

/* All built-in plugins, NULL-terminated. */
extern const struct plugin_desc *const plugin_builtin[];

/* The key of d named name (len bytes), or NULL. */
const struct plugin_key *plugin_key_find(const struct plugin_desc *d,
    const char *name, size_t len);

#endif
