/* SPDX-License-Identifier: MIT */
/*
 * The plugin operations of libdomino (proto/README.md, "Plugins"): list
 * callback plugins with their config schema, install an external plugin
 * from a URL, rescan the broker's plugin directory. Each is one request
 * (admin token); the replies come back as JSON text, since a plugin's
 * schema is open ended.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "domino.h"
#include "err.h"
#include "json.h"
#include "msg.h"

static int
set(const char *s)
{
	return s != NULL && *s != '\0';
}

/* The reply map without `ok`, as JSON text. */
static int
to_json(const msgpack_object *root, char **json)
{
	char *buf = NULL;
	size_t blen = 0;
	int first = 1;
	FILE *f = open_memstream(&buf, &blen);

	if (f == NULL)
		return conn_err(DOMINO_ENOMEM, "out of memory");
	fputc('{', f);
	for (uint32_t i = 0; root->type == MSGPACK_OBJECT_MAP &&
	    i < root->via.map.size; i++) {
		const msgpack_object *k = &root->via.map.ptr[i].key;

		if (k->type != MSGPACK_OBJECT_STR || (k->via.str.size == 2 &&
		    memcmp(k->via.str.ptr, "ok", 2) == 0))
			continue;
		if (!first)
			fputc(',', f);
		first = 0;
		json_put_str(f, k->via.str.ptr, k->via.str.size);
		fputc(':', f);
		json_put_object(f, &root->via.map.ptr[i].val, 0);
	}
	fputc('}', f);
	if (json_finish(f, &buf, &blen, json) != DOMINO_OK)
		return conn_err(DOMINO_ENOMEM, "out of memory");
	return DOMINO_OK;
}

/* Send sb (destroyed here); the reply as JSON into *json. */
static int
rpc_json(domino *d, msgpack_sbuffer *sb, char **json)
{
	struct conn_reply r;
	int rv = conn_rpc(d, sb, &r);

	msgpack_sbuffer_destroy(sb);
	if (rv != DOMINO_OK)
		return conn_err_default(rv);
	rv = to_json(r.root, json);
	conn_reply_free(&r);
	return rv;
}

int
domino_plugins(domino *d, const char *name, char **json)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;

	conn_err_clear();
	if (json != NULL)
		*json = NULL;
	if (d == NULL || json == NULL)
		return conn_err(DOMINO_EINVAL, "domino_plugins: invalid argument");
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	conn_req_begin(d, &pk, "plugins", set(name));
	if (set(name))
		msg_pack_kstr(&pk, "name", name);
	return rpc_json(d, &sb, json);
}

int
domino_plugin_install(domino *d, const char *url, const char *name,
    const char *sha256, char **json)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;

	conn_err_clear();
	if (json != NULL)
		*json = NULL;
	if (d == NULL || json == NULL || !set(url))
		return conn_err(DOMINO_EINVAL, "domino_plugin_install: a URL is "
		    "required");
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	conn_req_begin(d, &pk, "plugin.install", 1 + set(name) + set(sha256));
	msg_pack_kstr(&pk, "url", url);
	if (set(name))
		msg_pack_kstr(&pk, "name", name);
	if (set(sha256))
		msg_pack_kstr(&pk, "sha256", sha256);
	return rpc_json(d, &sb, json);
}

int
domino_plugin_reload(domino *d, char **json)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;

	conn_err_clear();
	if (json != NULL)
		*json = NULL;
	if (d == NULL || json == NULL)
		return conn_err(DOMINO_EINVAL, "domino_plugin_reload: invalid "
		    "argument");
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	conn_req_begin(d, &pk, "plugin.reload", 0);
	return rpc_json(d, &sb, json);
}
