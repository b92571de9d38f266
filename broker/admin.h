/* SPDX-License-Identifier: MIT */
/*
 * The admin HTTP listener (default 127.0.0.1:8703): GET /healthz answers
 * JSON about the store and the writer queue. Metrics and the status page
 * grow here. It reads state, never changes it.
 */
#ifndef DOMINO_ADMIN_H
#define DOMINO_ADMIN_H

#include <stddef.h>

struct store;
struct writer;
struct admin;

int admin_open(const char *url, struct store *st, struct writer *w,
    struct admin **out, char **bound, char *err, size_t errlen);
void admin_close(struct admin *a);

#endif
