/* SPDX-License-Identifier: MIT */
/*
 * jarena: chunks of a thread's arena in a list, the newest first. A chunk
 * that overflows gets a successor twice as big; at the end the thread
 * keeps one chunk as big as the request needed (at most KEEP_MAX) and
 * frees the rest.
 */
#include <cJSON.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include "jarena.h"

#define CHUNK_MIN (64 * 1024)
#define KEEP_MAX (1024 * 1024)
#define ALIGN 16

struct chunk {
	struct chunk *next;
	size_t cap, used;
	_Alignas(ALIGN) unsigned char data[];
};

struct arena {
	struct chunk *head; /* newest; the others follow */
	size_t total;       /* bytes handed out since begin */
	int active;
};

static _Thread_local struct arena arena;
static pthread_key_t exit_key; /* frees a thread's chunks when it ends */

static void
free_chunks(struct chunk *c)
{
	for (struct chunk *next; c != NULL; c = next) {
		next = c->next;
		free(c);
	}
}

static void
on_thread_exit(void *head)
{
	free_chunks(head);
}

static struct chunk *
chunk_new(size_t cap, struct chunk *next)
{
	struct chunk *c = malloc(sizeof(*c) + cap);

	if (c != NULL)
		*c = (struct chunk){next, cap, 0};
	return c;
}

static int
owned(const struct arena *a, const void *p)
{
	for (const struct chunk *c = a->head; c != NULL; c = c->next)
		if ((const unsigned char *)p >= c->data &&
		    (const unsigned char *)p < c->data + c->cap)
			return 1;
	return 0;
}

static void *
jmalloc(size_t n)
{
	struct arena *a = &arena;
	struct chunk *c = a->head;
	size_t need = (n + ALIGN - 1) & ~(size_t)(ALIGN - 1);
	void *p;

	if (!a->active || need < n)
		return malloc(n);
	if (c == NULL || c->cap - c->used < need) {
		size_t cap = c != NULL ? c->cap * 2 : CHUNK_MIN;
		struct chunk *nc;
		while (cap < need)
			cap *= 2;
		if ((nc = chunk_new(cap, c)) == NULL)
			return NULL;
		a->head = c = nc;
		pthread_setspecific(exit_key, nc);
	}
	p = c->data + c->used;
	c->used += need;
	a->total += need;
	return p;
}

static void
jfree(void *p)
{
	if (p != NULL && !owned(&arena, p))
		free(p);
}

static void
install(void)
{
	cJSON_Hooks h = {jmalloc, jfree};

	if (pthread_key_create(&exit_key, on_thread_exit) != 0)
		return; /* no arena: cJSON keeps malloc */
	cJSON_InitHooks(&h);
}

void
jarena_install(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, install);
}

void
jarena_begin(void)
{
	arena.active = 1;
	arena.total = 0;
}

void
jarena_end(void)
{
	struct arena *a = &arena;
	struct chunk *c = a->head;
	size_t keep = a->total;

	a->active = 0;
	if (c == NULL)
		return;
	if (c->next == NULL) {
		c->used = 0;
		return;
	}
	/* It overflowed: one chunk that fits the whole request next time. */
	free_chunks(c);
	a->head = NULL;
	if (keep < CHUNK_MIN)
		keep = CHUNK_MIN;
	if (keep <= KEEP_MAX)
		a->head = chunk_new(keep, NULL);
	pthread_setspecific(exit_key, a->head);
}
