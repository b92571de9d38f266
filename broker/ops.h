/* SPDX-License-Identifier: MIT */
/*
 * Internal to the control socket: what an operation gets (a call) and the
 * operations themselves, grouped by subject in ops_*.c. control.c owns the
 * sockets, authentication and the table that names the ops; an op reads its
 * arguments from call->req and writes the whole reply into call->sb.
 */
#ifndef DOMINO_OPS_H
#define DOMINO_OPS_H

#include <msgpack.h>
#include <stdint.h>

#include "listener.h"

struct control_env;
struct worker;

struct call {
	const struct control_env *env;
	struct worker *wk;
	const msgpack_object *req;
	msgpack_sbuffer *sb;
	msgpack_packer pk;
	int admin;
	/* set when a listener token authorized the call: that listener */
	char listener[LISTENER_NAME_MAX + 1];
};

/* An op returns OP_DONE when call->sb holds the reply, or OP_PENDING and
 * calls call_finish() later (e.g. once the writer has committed). */
enum { OP_DONE, OP_PENDING };

typedef int (*op_fn)(struct call *call);

void call_finish(struct call *call);

/* Optional typed arguments: 0, or -1 after answering `invalid`. */
int arg_u64(struct call *call, const char *key, uint64_t *v);
int arg_i64(struct call *call, const char *key, int64_t *v);
/* A required listener name into out (LISTENER_NAME_MAX + 1 bytes): 0, or
 * -1 after answering. */
int arg_name(struct call *call, const char *key, char *out);
/* Whether the caller may act on listener name; answers when not. */
int may_touch(struct call *call, const char *name);

/* ops_events.c */
int op_stats(struct call *call);
int op_log(struct call *call);
int op_secret(struct call *call);
int op_publish(struct call *call);
int op_ingest(struct call *call);
int op_ack(struct call *call);
int op_cursor(struct call *call);

/* ops_listeners.c */
int op_register(struct call *call);
int op_unregister(struct call *call);
int op_listeners(struct call *call);
int op_listener(struct call *call);
int op_impact(struct call *call);
int op_deliveries(struct call *call);
int op_replay(struct call *call);

/* ops_deliveries.c */
int op_retry(struct call *call);
int op_resolve(struct call *call);
int op_enable(struct call *call);
int op_disable(struct call *call);
int op_report(struct call *call);
int op_results(struct call *call);

/* ops_plugins.c */
int op_plugins(struct call *call);
int op_plugin_install(struct call *call);
int op_plugin_reload(struct call *call);

#endif
