/* SPDX-License-Identifier: MIT */
/*
 * The SSRF rule of the design: which resolved addresses a callback
 * registered with a listener token may not reach. Checked by the http
 * plugin on every address libcurl is about to connect to (after DNS, so a
 * name that resolves to 127.0.0.1 is caught too). A pure function: no DNS,
 * no I/O.
 */
#ifndef DOMINO_PLUGINS_ADDR_H
#define DOMINO_PLUGINS_ADDR_H

#include <sys/socket.h>

/*
 * NULL when sa may be connected to; otherwise why not, e.g. "a loopback
 * address". Refused: unspecified (0.0.0.0/8, ::), loopback (127/8, ::1),
 * private (10/8, 172.16/12, 192.168/16, fc00::/7, fec0::/10), link-local
 * (169.254/16, fe80::/10), shared (100.64/10), IETF/benchmark/reserved
 * ranges (192.0.0/24, 198.18/15, 240/4), multicast and broadcast; IPv6
 * forms that embed an IPv4 address (::ffff:a.b.c.d, ::a.b.c.d,
 * 64:ff9b::/96, 2002::/16) are judged by that address. Families other than
 * AF_INET and AF_INET6 are refused.
 */
const char *addr_forbidden(const struct sockaddr *sa, socklen_t len);

#endif
