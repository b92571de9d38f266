/* SPDX-License-Identifier: MIT */
/* Admin HTTP endpoints; see admin.h. Handlers answer synchronously. */
#include <arpa/inet.h>
#include <nng/nng.h>
#include <nng/supplemental/http/http.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "err.h"
#include "store.h"
#include "writer.h"

struct admin {
	nng_http_server *srv;
	struct store *st;
	struct writer *w;
};

static void
healthz(nng_aio *aio)
{
	struct admin *a = nng_http_handler_get_data(nng_aio_get_input(aio, 1));
	struct store_stats ss;
	struct writer_stats ws;
	nng_http_res *res;
	char body[512];
	int ok = store_get_stats(a->st, &ss) == DOMINO_OK;

	writer_get_stats(a->w, &ws);
	snprintf(body, sizeof(body),
	    "{\"status\":\"%s\",\"store\":{\"ok\":%s,\"seq\":%llu,\"events\":%llu,"
	    "\"map_size\":%llu,\"used\":%llu},\"writer\":{\"queued\":%llu,"
	    "\"commits\":%llu,\"commands\":%llu}}\n",
	    ok ? "ok" : "degraded", ok ? "true" : "false",
	    (unsigned long long)ss.last_seq, (unsigned long long)ss.events,
	    (unsigned long long)ss.map_size, (unsigned long long)ss.used,
	    (unsigned long long)ws.queued, (unsigned long long)ws.commits,
	    (unsigned long long)ws.commands);
	if (nng_http_res_alloc(&res) != 0) {
		nng_aio_finish(aio, NNG_ENOMEM);
		return;
	}
	nng_http_res_set_status(res, ok ? 200 : 503);
	nng_http_res_set_header(res, "Content-Type", "application/json");
	nng_http_res_copy_data(res, body, strlen(body));
	nng_aio_set_output(aio, 0, res);
	nng_aio_finish(aio, 0);
}

int
admin_open(const char *url, struct store *st, struct writer *w,
    struct admin **out, char **bound, char *err, size_t errlen)
{
	struct admin *a;
	nng_http_handler *h;
	nng_url *u = NULL;
	nng_sockaddr sa;
	int rv;

	if ((a = calloc(1, sizeof(*a))) == NULL)
		return DOMINO_ENOMEM;
	a->st = st;
	a->w = w;
	if ((rv = nng_url_parse(&u, url)) != 0 ||
	    (rv = nng_http_server_hold(&a->srv, u)) != 0)
		goto fail;
	if ((rv = nng_http_handler_alloc(&h, "/healthz", healthz)) != 0)
		goto fail;
	nng_http_handler_set_data(h, a, NULL);
	if ((rv = nng_http_server_add_handler(a->srv, h)) != 0) {
		nng_http_handler_free(h);
		goto fail;
	}
	if ((rv = nng_http_server_start(a->srv)) != 0)
		goto fail;
	*bound = NULL;
	if (nng_http_server_get_addr(a->srv, &sa) == 0 &&
	    sa.s_family == NNG_AF_INET &&
	    asprintf(bound, "%s://%s:%u", u->u_scheme, u->u_hostname,
	    ntohs(sa.s_in.sa_port)) < 0)
		*bound = NULL;
	if (*bound == NULL)
		*bound = strdup(url);
	nng_url_free(u);
	*out = a;
	return DOMINO_OK;
fail:
	snprintf(err, errlen, "cannot serve the admin endpoints on %s: %s", url,
	    nng_strerror(rv));
	if (a->srv != NULL)
		nng_http_server_release(a->srv);
	if (u != NULL)
		nng_url_free(u);
	free(a);
	return DOMINO_ETRANSPORT;
}

void
admin_close(struct admin *a)
{
	if (a == NULL)
		return;
	nng_http_server_stop(a->srv);
	nng_http_server_release(a->srv);
	free(a);
}
