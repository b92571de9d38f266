/* SPDX-License-Identifier: MIT */
/*
 * What the built-in plugins send, rendered from one delivery attempt (a
 * plugin_job): the CloudEvents 1.0 structured JSON envelope, the DOMINO_*
 * environment variables of exec, and `{{name}}` templates. Everything here
 * is pure: no I/O, no locks, safe on any thread. Every output has a cap.
 *
 * It does not send, sign or validate config keys; plugins do.
 *
 * CloudEvents mapping (also in broker/plugins/README.md):
 *   specversion "1.0"; id = the delivery id (stable across attempts, so a
 *   receiver can deduplicate); source "domino://<forge>/<repo>", e.g.
 *   "domino://github/github.com/org/core"; type "dev.domino.<type>", e.g.
 *   "dev.domino.push"; subject = the ref (left out when empty); time = when
 *   the broker received the webhook, RFC 3339 UTC with microseconds;
 *   datacontenttype "application/json"; data = {seq, repo, ref, before,
 *   after, actor, url, event, type, source, id, depends_on, via, listener,
 *   attempt} with "" for an absent string.
 */
#ifndef DOMINO_PLUGINS_RENDER_H
#define DOMINO_PLUGINS_RENDER_H

#include <stddef.h>

struct plugin_job;

/* Largest rendered body (CloudEvents JSON or template output). */
#define RENDER_MAX (4u * 1024 * 1024)

/* Longest template accepted at registration. */
#define RENDER_TEMPLATE_MAX (64u * 1024)

/*
 * The CloudEvents JSON of job, one line without a trailing newline. On
 * success *out is malloc'd and NUL-terminated (free with free()), *len its
 * length. DOMINO_OK, DOMINO_ENOMEM, or DOMINO_ETOOBIG over RENDER_MAX.
 */
int render_cloudevent(const struct plugin_job *job, char **out, size_t *len);

/*
 * The DOMINO_* environment of job: a NULL-terminated array of malloc'd
 * "NAME=value" strings (free with render_env_free), *n entries. Names:
 * DOMINO_SEQ, _REPO, _REF, _TYPE, _BEFORE, _AFTER, _ACTOR, _URL, _SOURCE,
 * _EVENT, _EVENT_ID, _LISTENER, _VIA (space-separated), _ATTEMPT,
 * _DELIVERY_ID. Absent values are empty. DOMINO_OK or DOMINO_ENOMEM.
 */
int render_env(const struct plugin_job *job, char ***out, size_t *n);

/* Free what render_env() made; NULL is a no-op. */
void render_env_free(char **env);

/*
 * Check a template of n bytes: every "{{" opens a placeholder closed by
 * "}}", whose name (spaces around it allowed) is one of repo, ref,
 * short_ref, before, after, type, seq, actor, url, via, listener, source,
 * id, event, delivery_id, attempt. 0, or -1 with a sentence such as
 * "unknown placeholder {{x}}" in why.
 */
int render_template_check(const char *t, size_t n, char *why, size_t whylen);

/*
 * Render a template for job. Values are JSON-string-escaped without the
 * quotes (templates are usually JSON bodies; the escaping also keeps CR/LF
 * out of header values). {{via}} is the chain joined by spaces, {{short_ref}}
 * the ref without refs/heads/ or refs/tags/. On success *out is malloc'd
 * and NUL-terminated, *len its length. DOMINO_OK, DOMINO_EINVAL (a template
 * render_template_check() rejects), DOMINO_ETOOBIG (output over cap) or
 * DOMINO_ENOMEM.
 */
int render_template(const char *t, size_t n, const struct plugin_job *job,
    size_t cap, char **out, size_t *len);

#endif
