/* SPDX-License-Identifier: MIT */
/* The broker's version, reported by --version and the stats operation. */
#ifndef DOMINO_VERSION_H
#define DOMINO_VERSION_H

#define DOMINO_VERSION "0.1.0"

#endif
