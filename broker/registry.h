/* SPDX-License-Identifier: MIT */
/*
 * Listener registration and removal as writer commands: the listener
 * record, its dependency index entries and (on removal) its deliveries
 * change in one transaction. Authorization is the caller's job; apply()
 * re-checks only what can race (a name taken meanwhile).
 */
#ifndef DOMINO_REGISTRY_H
#define DOMINO_REGISTRY_H

#include <stdint.h>

#include "listener.h"
#include "writer.h"

enum registry_op { REGISTRY_REGISTER, REGISTRY_UNREGISTER };

struct registry_cmd {
	struct wcmd cmd;
	enum registry_op op;
	/* in */
	struct listener l;     /* REGISTER: the parsed registration (owned) */
	char name[LISTENER_NAME_MAX + 1]; /* UNREGISTER */
	int must_be_new;       /* REGISTER: refuse to update an existing one */
	int must_exist;        /* REGISTER: an update only (a listener token) */
	int rotate_token;
	uint64_t max_listeners; /* REGISTER: refuse a new one past this (0: none) */
	int64_t now;
	/* out, valid in done() */
	int created;
	char *token;           /* new token (malloc'd) or NULL */
	uint64_t removed;      /* UNREGISTER: deliveries removed */
	char err[256];
	void (*done)(struct registry_cmd *c, int status);
	void *arg;
};

/* Queue c on w (sets its apply/committed). As writer_submit. */
int registry_submit(struct writer *w, struct registry_cmd *c);

/*
 * Write (put) or remove l's dependency index entries in t, with their
 * match records.
 */
int registry_index(struct store_wtxn *t, const struct listener *l, int put);

/*
 * Queue the one-time upgrade of a schema 1 store: every index entry
 * rewritten with its match record, then schema 2. A no-op on an upgraded
 * store. As writer_submit; the outcome is logged.
 */
int registry_reindex(struct writer *w);

/* Free c's members and c itself. */
void registry_cmd_free(struct registry_cmd *c);

#endif
