/* SPDX-License-Identifier: MIT */
/*
 * Control operations on callback plugins (proto/README.md, "Plugins"):
 * `plugins` lists the built-in and external ones with their config schema
 * (and which external ones are broken, and why), `plugin.install` fetches
 * and activates an external plugin, `plugin.reload` rescans the plugin
 * directory. install and reload are admin-only, like every op without the
 * listener_ok flag in control.c.
 */
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "msg.h"
#include "ops.h"
#include "plugins/external.h"
#include "plugins/plugin.h"

static void
pack_keys(msgpack_packer *pk, const struct plugin_desc *d)
{
	size_t n = 0;

	for (const struct plugin_key *k = d->keys; k->name != NULL; k++)
		n++;
	msg_pack_cstr(pk, "config");
	msgpack_pack_map(pk, n);
	for (const struct plugin_key *k = d->keys; k->name != NULL; k++) {
		msg_pack_cstr(pk, k->name);
		msgpack_pack_map(pk, 3);
		msg_pack_kbool(pk, "required", k->required);
		msg_pack_kbool(pk, "secret", k->secret);
		msg_pack_kstr(pk, "description", k->help ? k->help : "");
	}
}

struct list {
	msgpack_packer *pk;
	const char *only;
	size_t n;
	int count_only;
};

static void
pack_ext(void *arg, const struct plugin_ext_info *in)
{
	struct list *l = arg;
	msgpack_packer *pk = l->pk;

	if (l->only != NULL && strcmp(l->only, in->name) != 0)
		return;
	l->n++;
	if (l->count_only)
		return;
	msgpack_pack_map(pk, 9 + (in->desc != NULL));
	msg_pack_kstr(pk, "name", in->name);
	msg_pack_kstr(pk, "kind", "external");
	msg_pack_kstr(pk, "path", in->path);
	msg_pack_kstr(pk, "version", in->version);
	msg_pack_kstr(pk, "summary", in->summary);
	msg_pack_kstr(pk, "state", in->state);
	msg_pack_kstr(pk, "reason", in->reason);
	msg_pack_ku64(pk, "pid", (uint64_t)(in->pid > 0 ? in->pid : 0));
	msg_pack_ku64(pk, "restarts", in->restarts);
	if (in->desc != NULL)
		pack_keys(pk, in->desc);
}

/* plugins [name]: {ok, plugins: [{name, kind, summary, state, config...}],
 * broken: n} */
int
op_plugins(struct call *call)
{
	char name[65] = "";
	const char *s;
	size_t n, nb = 0;
	struct list l = {.pk = &call->pk};
	int bad;

	if (msg_str(call->req, "name", &s, &n) == DOMINO_OK && n > 0) {
		if (n >= sizeof(name)) {
			msg_error_reply(call->sb, DOMINO_ENOTFOUND, "no plugin "
			    "named %.64s", s);
			return OP_DONE;
		}
		memcpy(name, s, n);
		name[n] = '\0';
		l.only = name;
	}
	for (size_t i = 0; plugin_builtin[i] != NULL; i++)
		if (l.only == NULL || strcmp(plugin_builtin[i]->name, l.only) == 0)
			nb++;
	l.count_only = 1;
	plugins_health(pack_ext, &l);
	if (nb + l.n == 0) {
		char why[256];
		if (l.only != NULL && plugin_ext_broken(l.only, why, sizeof(why)))
			msg_error_reply(call->sb, DOMINO_ENOTFOUND, "plugin %s "
			    "is broken: %s", l.only, why);
		else
			msg_error_reply(call->sb, DOMINO_ENOTFOUND, "no plugin "
			    "named %s (see `domino plugins`)", l.only ? l.only : "");
		return OP_DONE;
	}
	/* The external list may change between the count and the packing:
	 * pack into a side buffer, then count what was packed. */
	{
		msgpack_sbuffer side;
		msgpack_packer spk;
		msgpack_sbuffer_init(&side);
		msgpack_packer_init(&spk, &side, msgpack_sbuffer_write);
		l.pk = &spk;
		l.n = 0;
		l.count_only = 0;
		bad = plugins_health(pack_ext, &l);
		msgpack_pack_map(&call->pk, 3);
		msg_pack_kbool(&call->pk, "ok", 1);
		msg_pack_ku64(&call->pk, "broken", (uint64_t)bad);
		msg_pack_cstr(&call->pk, "plugins");
		msgpack_pack_array(&call->pk, nb + l.n);
		for (size_t i = 0; plugin_builtin[i] != NULL; i++) {
			const struct plugin_desc *d = plugin_builtin[i];
			if (l.only != NULL && strcmp(d->name, l.only) != 0)
				continue;
			msgpack_pack_map(&call->pk, 5);
			msg_pack_kstr(&call->pk, "name", d->name);
			msg_pack_kstr(&call->pk, "kind", "builtin");
			msg_pack_kstr(&call->pk, "summary", d->summary ? d->summary : "");
			msg_pack_kstr(&call->pk, "state", "ok");
			pack_keys(&call->pk, d);
		}
		msgpack_sbuffer_write(call->sb, side.data, side.size);
		msgpack_sbuffer_destroy(&side);
	}
	return OP_DONE;
}

static int
opt_str(struct call *call, const char *key, char *out, size_t cap)
{
	const char *s;
	size_t n;
	int rv = msg_str(call->req, key, &s, &n);

	out[0] = '\0';
	if (rv == DOMINO_EPROTO || (rv == DOMINO_OK && n >= cap)) {
		msg_error_reply(call->sb, DOMINO_EINVAL, "argument %s must be a "
		    "string of at most %zu bytes", key, cap - 1);
		return -1;
	}
	if (rv == DOMINO_OK) {
		memcpy(out, s, n);
		out[n] = '\0';
	}
	return 0;
}

/* plugin.install {url, name?, sha256?}: {ok, name} */
int
op_plugin_install(struct call *call)
{
	char url[4096], name[128], sha[80], got[128], err[512];
	int rv;

	if (opt_str(call, "url", url, sizeof(url)) != 0 ||
	    opt_str(call, "name", name, sizeof(name)) != 0 ||
	    opt_str(call, "sha256", sha, sizeof(sha)) != 0)
		return OP_DONE;
	if (url[0] == '\0') {
		msg_error_reply(call->sb, DOMINO_EINVAL, "argument url is required");
		return OP_DONE;
	}
	rv = plugin_ext_install(url, name, sha, got, sizeof(got), err,
	    sizeof(err));
	if (rv != DOMINO_OK) {
		msg_error_reply(call->sb, rv, "plugin.install: %s", err);
		return OP_DONE;
	}
	msgpack_pack_map(&call->pk, 2);
	msg_pack_kbool(&call->pk, "ok", 1);
	msg_pack_kstr(&call->pk, "name", got);
	return OP_DONE;
}

/* plugin.reload: {ok, plugins: n working, broken: n} */
int
op_plugin_reload(struct call *call)
{
	unsigned ok = 0, bad = 0;

	plugin_ext_reload(&ok, &bad);
	msgpack_pack_map(&call->pk, 3);
	msg_pack_kbool(&call->pk, "ok", 1);
	msg_pack_ku64(&call->pk, "plugins", ok);
	msg_pack_ku64(&call->pk, "broken", bad);
	return OP_DONE;
}
