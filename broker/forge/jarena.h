/* SPDX-License-Identifier: MIT */
/*
 * A per-thread bump arena for cJSON's allocations while a webhook is
 * normalized. cJSON makes a node (and often a string) per JSON value and
 * frees them one by one: for a 10 KB GitHub push that was a fifth of the
 * broker's CPU in malloc and free. Between jarena_begin() and jarena_end()
 * the calling thread's cJSON allocations come from the arena and freeing
 * them costs nothing; jarena_end() takes the whole arena back at once.
 *
 * Every cJSON tree made inside must be deleted inside: memory from the
 * arena is invalid after jarena_end(). Outside a begin/end pair, and on
 * other threads, cJSON allocates with malloc as usual.
 */
#ifndef DOMINO_JARENA_H
#define DOMINO_JARENA_H

/* Point cJSON's hooks at the arena (once per process; idempotent). */
void jarena_install(void);

void jarena_begin(void);
void jarena_end(void);

#endif
