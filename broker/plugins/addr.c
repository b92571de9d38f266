/* SPDX-License-Identifier: MIT */
/*
 * Address classification for the SSRF rule; see addr.h.
 */
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>

#include "addr.h"

static const struct {
	uint32_t net, mask;
	const char *why;
} v4_ranges[] = {
	{0x00000000, 0xff000000, "an unspecified (0.0.0.0/8) address"},
	{0x7f000000, 0xff000000, "a loopback address"},
	{0x0a000000, 0xff000000, "a private (RFC 1918) address"},
	{0xac100000, 0xfff00000, "a private (RFC 1918) address"},
	{0xc0a80000, 0xffff0000, "a private (RFC 1918) address"},
	{0xa9fe0000, 0xffff0000, "a link-local address"},
	{0x64400000, 0xffc00000, "a shared (100.64.0.0/10) address"},
	{0xc0000000, 0xffffff00, "an IETF protocol (192.0.0.0/24) address"},
	{0xc6120000, 0xfffe0000, "a benchmarking (198.18.0.0/15) address"},
	{0xe0000000, 0xf0000000, "a multicast address"},
	{0xf0000000, 0xf0000000, "a reserved (240.0.0.0/4) or broadcast address"},
};

static const char *
v4_forbidden(uint32_t a)
{
	for (size_t i = 0; i < sizeof(v4_ranges) / sizeof(v4_ranges[0]); i++)
		if ((a & v4_ranges[i].mask) == v4_ranges[i].net)
			return v4_ranges[i].why;
	return NULL;
}

static uint32_t
be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static const char *
v6_forbidden(const uint8_t *b)
{
	static const uint8_t zero[16];
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0xff, 0xff};
	static const uint8_t nat64[12] = {0, 0x64, 0xff, 0x9b};

	if (memcmp(b, zero, 16) == 0)
		return "an unspecified (::) address";
	if (memcmp(b, zero, 15) == 0 && b[15] == 1)
		return "a loopback address";
	/* ::ffff:a.b.c.d, NAT64 64:ff9b::a.b.c.d, deprecated ::a.b.c.d */
	if (memcmp(b, mapped, 12) == 0 || memcmp(b, nat64, 12) == 0 ||
	    memcmp(b, zero, 12) == 0)
		return v4_forbidden(be32(b + 12));
	if (b[0] == 0x20 && b[1] == 0x02) /* 6to4 2002:a.b.c.d::/48 */
		return v4_forbidden(be32(b + 2));
	if ((b[0] & 0xfe) == 0xfc)
		return "a unique local (fc00::/7) address";
	if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80)
		return "a link-local address";
	if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0)
		return "a site-local (fec0::/10) address";
	if (b[0] == 0xff)
		return "a multicast address";
	return NULL;
}

const char *
addr_forbidden(const struct sockaddr *sa, socklen_t len)
{
	struct sockaddr_in in4;
	struct sockaddr_in6 in6;

	if (sa == NULL)
		return "no address";
	if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(in4)) {
		memcpy(&in4, sa, sizeof(in4));
		return v4_forbidden(ntohl(in4.sin_addr.s_addr));
	}
	if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(in6)) {
		memcpy(&in6, sa, sizeof(in6));
		return v6_forbidden(in6.sin6_addr.s6_addr);
	}
	return "not an IPv4 or IPv6 address";
}
