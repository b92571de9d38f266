/* SPDX-License-Identifier: MIT */
/*
 * A tiny HTTP receiver for end-to-end tests: listens on 127.0.0.1:0 in a
 * thread, answers each request with the next status of a script (the last
 * one repeats), and keeps what it received (headers and body) for checks.
 */
#ifndef DOMINO_TEST_RECEIVER_H
#define DOMINO_TEST_RECEIVER_H

#include <stddef.h>

#define RECV_MAX 64

struct received {
	char head[4096]; /* request line and headers */
	char *body;
	size_t len;
};

struct receiver;

/* Start with a script of statuses (n >= 1); *port gets the bound port. */
struct receiver *receiver_start(const int *statuses, size_t n, int *port);

/* Requests received so far. */
int receiver_count(struct receiver *r);

/* Copy of request i (0-based) into out; 0 on success. */
int receiver_get(struct receiver *r, int i, struct received *out);

/* Wait until at least n requests arrived (up to timeout_ms); the count. */
int receiver_wait(struct receiver *r, int n, int timeout_ms);

/* Value of header name in a received head (case-insensitive) into out. */
int received_header(const struct received *q, const char *name, char *out,
    size_t cap);

void receiver_stop(struct receiver *r);

#endif
