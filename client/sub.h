/* SPDX-License-Identifier: MIT */
/*
 * Internal to libdomino: what the handle needs from the subscription
 * module. The public subscription API is in domino.h.
 */
#ifndef DOMINO_SUB_H
#define DOMINO_SUB_H

#include "domino.h"

/* Unsubscribe every subscription still open on d (domino_close). */
void sub_close_all(domino *d);

#endif
