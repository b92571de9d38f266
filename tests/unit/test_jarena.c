/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for broker/forge/jarena.c, the per-thread arena cJSON uses
 * while a webhook is normalized: trees made inside parse and print like
 * any other, memory is reused from one request to the next, a document
 * bigger than the arena's first chunk still works, and outside the window
 * (or on another thread) cJSON uses malloc again. Run under ASan, a tree
 * freed to the wrong allocator would show.
 */
#include <cJSON.h>
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "forge/jarena.h"

/* A JSON array of n objects, each with a string and a number. */
static char *
doc(int n)
{
	size_t cap = (size_t)n * 48 + 16, len = 0;
	char *s = malloc(cap);

	cr_assert_not_null(s);
	len += (size_t)snprintf(s, cap, "[");
	for (int i = 0; i < n; i++)
		len += (size_t)snprintf(s + len, cap - len,
		    "%s{\"name\":\"item-%d\",\"n\":%d}", i ? "," : "", i, i);
	snprintf(s + len, cap - len, "]");
	return s;
}

static void
parse_check(const char *text, int n)
{
	cJSON *root = cJSON_Parse(text), *last;
	char *again;

	cr_assert_not_null(root);
	cr_assert_eq(cJSON_GetArraySize(root), n);
	last = cJSON_GetArrayItem(root, n - 1);
	cr_assert_eq(cJSON_GetObjectItem(last, "n")->valueint, n - 1);
	again = cJSON_PrintUnformatted(root);
	cr_assert_str_eq(again, text);
	cJSON_free(again);
	cJSON_Delete(root);
}

Test(jarena, trees_inside_the_window_work_and_memory_is_reused)
{
	char *small = doc(50), *big = doc(20000); /* ~0.9 MB of nodes */
	void *outside;

	jarena_install();
	jarena_install(); /* idempotent */
	for (int round = 0; round < 3; round++) {
		jarena_begin();
		parse_check(small, 50);
		jarena_end();
	}
	/* Bigger than the first chunk: it grows, and the next request
	 * gets one chunk that fits. */
	for (int round = 0; round < 2; round++) {
		jarena_begin();
		parse_check(big, 20000);
		jarena_end();
	}
	/* Outside the window cJSON's memory is malloc's: this print outlives
	 * any later window. */
	outside = cJSON_CreateString("kept");
	jarena_begin();
	parse_check(small, 50);
	jarena_end();
	cr_assert_str_eq(((cJSON *)outside)->valuestring, "kept");
	cJSON_Delete(outside);
	free(small);
	free(big);
}

static void *
other_thread(void *arg)
{
	(void)arg;
	parse_check("[{\"name\":\"x\",\"n\":0}]", 1);
	return NULL;
}

Test(jarena, another_thread_is_not_affected)
{
	pthread_t t;

	jarena_install();
	jarena_begin();
	/* A tree made by another thread meanwhile is malloc'd and freed
	 * there; the thread's own arena (if any) is released at its exit. */
	cr_assert_eq(pthread_create(&t, NULL, other_thread, NULL), 0);
	pthread_join(t, NULL);
	parse_check("[{\"name\":\"y\",\"n\":0}]", 1);
	jarena_end();
}
