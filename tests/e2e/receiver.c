/* SPDX-License-Identifier: MIT */
/* Test HTTP receiver; see receiver.h. One connection at a time. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "receiver.h"

struct receiver {
	int fd;
	pthread_t th;
	pthread_mutex_t mu;
	int stop;
	int statuses[16];
	size_t nstat;
	struct received got[RECV_MAX];
	int n;
};

static int
read_request(int c, struct received *q)
{
	char buf[65536];
	size_t have = 0;
	char *end = NULL;
	long cl = 0;

	memset(q, 0, sizeof(*q));
	while (end == NULL) {
		struct pollfd p = {c, POLLIN, 0};
		ssize_t r;
		if (poll(&p, 1, 5000) <= 0 || have >= sizeof(buf) - 1)
			return -1;
		if ((r = read(c, buf + have, sizeof(buf) - 1 - have)) <= 0)
			return -1;
		have += (size_t)r;
		buf[have] = '\0';
		end = strstr(buf, "\r\n\r\n");
	}
	snprintf(q->head, sizeof(q->head), "%.*s", (int)(end - buf), buf);
	{
		char v[32];
		if (received_header(q, "Content-Length", v, sizeof(v)) == 0)
			cl = strtol(v, NULL, 10);
	}
	if (cl < 0 || cl > 16 * 1024 * 1024)
		return -1;
	q->body = malloc((size_t)cl + 1);
	if (q->body == NULL)
		return -1;
	{
		size_t got = have - (size_t)(end + 4 - buf);
		if (got > (size_t)cl)
			got = (size_t)cl;
		memcpy(q->body, end + 4, got);
		while (got < (size_t)cl) {
			ssize_t r = read(c, q->body + got, (size_t)cl - got);
			if (r <= 0)
				return -1;
			got += (size_t)r;
		}
		q->len = (size_t)cl;
		q->body[q->len] = '\0';
	}
	return 0;
}

static void *
serve(void *arg)
{
	struct receiver *r = arg;

	for (;;) {
		struct pollfd p = {r->fd, POLLIN, 0};
		struct received q;
		char resp[256];
		int c, status, stop;

		pthread_mutex_lock(&r->mu);
		stop = r->stop;
		pthread_mutex_unlock(&r->mu);
		if (stop)
			break;
		if (poll(&p, 1, 100) <= 0)
			continue;
		if ((c = accept(r->fd, NULL, NULL)) < 0)
			continue;
		if (read_request(c, &q) != 0) {
			free(q.body);
			close(c);
			continue;
		}
		pthread_mutex_lock(&r->mu);
		status = r->statuses[(size_t)r->n < r->nstat ? (size_t)r->n : r->nstat - 1];
		if (r->n < RECV_MAX)
			r->got[r->n++] = q;
		else
			free(q.body);
		pthread_mutex_unlock(&r->mu);
		snprintf(resp, sizeof(resp), "HTTP/1.1 %d X\r\nContent-Length: 2\r\n"
		    "Connection: close\r\n\r\nok", status);
		(void)!write(c, resp, strlen(resp));
		close(c);
	}
	return NULL;
}

struct receiver *
receiver_start(const int *statuses, size_t n, int *port)
{
	struct receiver *r = calloc(1, sizeof(*r));
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t sl = sizeof(sa);

	if (r == NULL || n == 0 || n > 16)
		goto fail;
	memcpy(r->statuses, statuses, n * sizeof(int));
	r->nstat = n;
	pthread_mutex_init(&r->mu, NULL);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((r->fd = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
	    bind(r->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    listen(r->fd, 16) != 0 ||
	    getsockname(r->fd, (struct sockaddr *)&sa, &sl) != 0)
		goto fail;
	*port = ntohs(sa.sin_port);
	if (pthread_create(&r->th, NULL, serve, r) != 0)
		goto fail;
	return r;
fail:
	free(r);
	return NULL;
}

int
receiver_count(struct receiver *r)
{
	int n;

	pthread_mutex_lock(&r->mu);
	n = r->n;
	pthread_mutex_unlock(&r->mu);
	return n;
}

int
receiver_get(struct receiver *r, int i, struct received *out)
{
	int rv = -1;

	pthread_mutex_lock(&r->mu);
	if (i >= 0 && i < r->n) {
		*out = r->got[i];
		out->body = malloc(r->got[i].len + 1);
		if (out->body != NULL) {
			memcpy(out->body, r->got[i].body, r->got[i].len + 1);
			rv = 0;
		}
	}
	pthread_mutex_unlock(&r->mu);
	return rv;
}

int
receiver_wait(struct receiver *r, int n, int timeout_ms)
{
	for (int waited = 0; waited < timeout_ms; waited += 50) {
		if (receiver_count(r) >= n)
			break;
		usleep(50000);
	}
	return receiver_count(r);
}

int
received_header(const struct received *q, const char *name, char *out,
    size_t cap)
{
	size_t nl = strlen(name);

	for (const char *p = strstr(q->head, "\r\n"); p != NULL;
	    p = strstr(p + 2, "\r\n")) {
		const char *h = p + 2;
		if (strncasecmp(h, name, nl) == 0 && h[nl] == ':') {
			const char *v = h + nl + 1, *e;
			while (*v == ' ')
				v++;
			e = strstr(v, "\r\n");
			snprintf(out, cap, "%.*s", (int)(e ? e - v : (long)strlen(v)), v);
			return 0;
		}
	}
	return -1;
}

void
receiver_stop(struct receiver *r)
{
	if (r == NULL)
		return;
	pthread_mutex_lock(&r->mu);
	r->stop = 1;
	pthread_mutex_unlock(&r->mu);
	pthread_join(r->th, NULL);
	close(r->fd);
	for (int i = 0; i < r->n; i++)
		free(r->got[i].body);
	pthread_mutex_destroy(&r->mu);
	free(r);
}
