/* SPDX-License-Identifier: MIT */
/*
 * Admin HTTP endpoints; see admin.h. Each request takes a snapshot of the
 * modules' counters and renders it; the handlers answer synchronously and
 * are cheap (counters, LMDB stat calls, one bounded read transaction), so
 * they run on nng's threads. The web pages themselves (status page,
 * matrix, graph, badges) live in web/pages.c; this file is their HTTP glue.
 */
#include <arpa/inet.h>
#include <nng/nng.h>
#include <nng/supplemental/http/http.h>
#include <nng/supplemental/tls/tls.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "admin.h"
#include "web/esc.h"
#include "config.h"
#include "deliver.h"
#include "err.h"
#include "fanout.h"
#include "plugins/external.h"
#include "ingest.h"
#include "retention.h"
#include "store.h"
#include "version.h"
#include "web/pages.h"
#include "writer.h"

/* Writer queue fill (percent) above which the broker reports degraded. */
#define QUEUE_DEGRADED_PCT 90
/* Map use (percent) above which the store reports degraded. */
#define MAP_DEGRADED_PCT 95

struct admin;

/* What a web page handler is given: its route and the listener. */
struct route_ctx {
	struct admin *a;
	const struct web_route *rt;
};

struct admin {
	nng_http_server *srv;
	struct admin_env env;
	struct route_ctx *routes;
};

struct snap {
	int store_ok;
	struct store_stats ss;
	uint64_t due, listeners, log_bytes;
	struct writer_stats ws;
	struct deliver_stats ds;
	struct retention_stats rs;
	uint64_t fan_sent, subscribers;
	int64_t uptime_s;
	int plugins_bad;           /* external plugins broken or restarting */
	char plugin_why[200];      /* the first one, for the reason */
};

static void
plugin_note(void *arg, const struct plugin_ext_info *info)
{
	struct snap *s = arg;

	if (s->plugin_why[0] == '\0' && (strcmp(info->state, "broken") == 0 ||
	    strcmp(info->state, "restarting") == 0))
		snprintf(s->plugin_why, sizeof(s->plugin_why), "%s is %s: %s",
		    info->name, info->state, info->reason);
}



static void
take(struct admin *a, struct snap *s)
{
	const struct admin_env *e = &a->env;
	struct store_reader *r;

	memset(s, 0, sizeof(*s));
	s->store_ok = store_get_stats(e->st, &s->ss) == DOMINO_OK;
	if (store_reader_open(e->st, &r) == DOMINO_OK) {
		s->due = store_due_count(store_reader_view(r));
		s->listeners = store_listener_count(store_reader_view(r));
		s->log_bytes = store_events_bytes(store_reader_view(r));
		store_reader_close(r);
	} else {
		s->store_ok = 0;
	}
	writer_get_stats(e->w, &s->ws);
	if (e->dl != NULL)
		deliver_get_stats(e->dl, &s->ds);
	if (e->ret != NULL)
		retention_get_stats(e->ret, &s->rs);
	s->fan_sent = fanout_sent(e->fo);
	s->subscribers = fanout_subscribers(e->fo);
	s->uptime_s = (clock_now_ns() - e->started_ns) / 1000000000;
	s->plugins_bad = plugins_health(plugin_note, s);
}

/* Why the broker is degraded, or NULL. */
static const char *
degraded(const struct snap *s, char *why, size_t cap)
{
	if (!s->store_ok)
		return "store: cannot read the log";
	if (s->ws.queue_max > 0 &&
	    s->ws.queued * 100 >= s->ws.queue_max * QUEUE_DEGRADED_PCT) {
		snprintf(why, cap, "writer: queue %llu of %llu",
		    (unsigned long long)s->ws.queued,
		    (unsigned long long)s->ws.queue_max);
		return why;
	}
	if (s->ss.map_size > 0 && s->ss.used * 100 >= s->ss.map_size * MAP_DEGRADED_PCT) {
		snprintf(why, cap, "store: map %llu%% full (it grows when full; "
		    "check the disk)", (unsigned long long)(s->ss.used * 100 /
		    s->ss.map_size));
		return why;
	}
	if (s->plugins_bad > 0) {
		snprintf(why, cap, "plugins: %d broken or restarting (%s)",
		    s->plugins_bad, s->plugin_why);
		return why;
	}
	return NULL;
}

static void
reply(nng_aio *aio, uint16_t status, const char *type, struct wbuf *b)
{
	nng_http_res *res;

	if (b->bad || nng_http_res_alloc(&res) != 0) {
		free(b->p);
		nng_aio_finish(aio, NNG_ENOMEM);
		return;
	}
	nng_http_res_set_status(res, status);
	nng_http_res_set_header(res, "Content-Type", type);
	nng_http_res_set_header(res, "Cache-Control", "no-store");
	nng_http_res_set_header(res, "X-Content-Type-Options", "nosniff");
	nng_http_res_copy_data(res, b->p ? b->p : "", b->n);
	free(b->p);
	nng_aio_set_output(aio, 0, res);
	nng_aio_finish(aio, 0);
}

static void
status_json(const struct snap *s, const char *why, struct wbuf *b)
{
	wbuf_printf(b, "{\"status\":\"%s\"", why ? "degraded" : "ok");
	if (why != NULL) {
		wbuf_puts(b, ",\"reason\":");
		web_esc_json(b, why);
	}
	wbuf_printf(b, ",\"version\":\"%s\",\"uptime_s\":%lld", DOMINO_VERSION,
	    (long long)s->uptime_s);
	wbuf_printf(b, ",\"store\":{\"ok\":%s,\"seq\":%llu,\"first_seq\":%llu,"
	    "\"events\":%llu,\"log_bytes\":%llu,\"map_size\":%llu,\"used\":%llu,"
	    "\"trimmed_before\":%llu}", s->store_ok ? "true" : "false",
	    (unsigned long long)s->ss.last_seq, (unsigned long long)s->ss.first_seq,
	    (unsigned long long)s->ss.events, (unsigned long long)s->log_bytes,
	    (unsigned long long)s->ss.map_size, (unsigned long long)s->ss.used,
	    (unsigned long long)s->ss.trimmed_before);
	wbuf_printf(b, ",\"writer\":{\"ok\":%s,\"queued\":%llu,\"queue_max\":%llu,"
	    "\"commits\":%llu,\"commands\":%llu,\"failed_commits\":%llu}",
	    why && strncmp(why, "writer", 6) == 0 ? "false" : "true",
	    (unsigned long long)s->ws.queued, (unsigned long long)s->ws.queue_max,
	    (unsigned long long)s->ws.commits, (unsigned long long)s->ws.commands,
	    (unsigned long long)s->ws.failed_commits);
	wbuf_printf(b, ",\"fanout\":{\"ok\":true,\"subscribers\":%llu,\"messages\":%llu}",
	    (unsigned long long)s->subscribers, (unsigned long long)s->fan_sent);
	wbuf_printf(b, ",\"deliveries\":{\"ok\":true,\"backlog\":%llu,\"in_flight\":%u,"
	    "\"dispatched\":%llu,\"ok_total\":%llu,\"retried\":%llu,\"dead\":%llu,"
	    "\"listeners\":%llu}", (unsigned long long)s->due, s->ds.in_flight,
	    (unsigned long long)s->ds.dispatched, (unsigned long long)s->ds.ok,
	    (unsigned long long)s->ds.retried, (unsigned long long)s->ds.dead,
	    (unsigned long long)s->listeners);
	wbuf_printf(b, ",\"retention\":{\"trimmed\":%llu,\"held_back\":%llu}",
	    (unsigned long long)s->rs.trimmed, (unsigned long long)s->rs.held_back);
	wbuf_printf(b, ",\"plugins\":{\"ok\":%s,\"broken\":%d,\"builtin\":"
	    "[\"http\",\"exec\",\"nng\",\"file\"]}}\n",
	    s->plugins_bad ? "false" : "true", s->plugins_bad);
}

static void
healthz(nng_aio *aio)
{
	struct admin *a = nng_http_handler_get_data(nng_aio_get_input(aio, 1));
	struct snap s;
	struct wbuf b = {0};
	char whybuf[320];
	const char *why;

	take(a, &s);
	why = degraded(&s, whybuf, sizeof(whybuf));
	status_json(&s, why, &b);
	reply(aio, why ? 503 : 200, "application/json", &b);
}

static void
plugin_restarts_line(void *arg, const struct plugin_ext_info *info)
{
	wbuf_printf(arg, "domino_plugin_restarts_total{plugin=\"%s\"} %u\n",
	    info->name, info->restarts);
}

struct count_ctx {
	struct wbuf *b;
};

static void
count_line(void *arg, const char *source, unsigned status, uint64_t n)
{
	struct count_ctx *c = arg;

	wbuf_printf(c->b, "domino_webhooks_total{source=\"%s\",status=\"%u\"} %llu\n",
	    source, status, (unsigned long long)n);
}

static void
metrics(nng_aio *aio)
{
	struct admin *a = nng_http_handler_get_data(nng_aio_get_input(aio, 1));
	struct snap s;
	struct wbuf b = {0};
	struct count_ctx cc = {&b};
	uint64_t cum = 0;

	take(a, &s);
	wbuf_printf(&b, "# HELP domino_webhooks_total Webhook requests by source and HTTP answer.\n"
	    "# TYPE domino_webhooks_total counter\n");
	if (a->env.in != NULL)
		ingest_each_count(a->env.in, count_line, &cc);
	wbuf_printf(&b, "# HELP domino_log_seq Last committed seq.\n# TYPE domino_log_seq gauge\n"
	    "domino_log_seq %llu\n", (unsigned long long)s.ss.last_seq);
	wbuf_printf(&b, "# HELP domino_log_events Events in the log.\n# TYPE domino_log_events gauge\n"
	    "domino_log_events %llu\n", (unsigned long long)s.ss.events);
	wbuf_printf(&b, "# HELP domino_log_bytes Bytes the log takes.\n# TYPE domino_log_bytes gauge\n"
	    "domino_log_bytes %llu\n", (unsigned long long)s.log_bytes);
	wbuf_printf(&b, "# HELP domino_store_map_bytes LMDB map size and use.\n# TYPE domino_store_map_bytes gauge\n"
	    "domino_store_map_bytes{kind=\"size\"} %llu\ndomino_store_map_bytes{kind=\"used\"} %llu\n",
	    (unsigned long long)s.ss.map_size, (unsigned long long)s.ss.used);
	wbuf_printf(&b, "# HELP domino_writer_queue Commands waiting for the writer.\n# TYPE domino_writer_queue gauge\n"
	    "domino_writer_queue %llu\n", (unsigned long long)s.ws.queued);
	wbuf_printf(&b, "# HELP domino_writer_commits_total Transactions committed.\n# TYPE domino_writer_commits_total counter\n"
	    "domino_writer_commits_total %llu\n", (unsigned long long)s.ws.commits);
	wbuf_printf(&b, "# HELP domino_writer_batch_size Commands per commit.\n# TYPE domino_writer_batch_size histogram\n");
	for (int i = 0; i < WRITER_BATCH_BUCKETS; i++) {
		cum += s.ws.batch_hist[i];
		if (i < WRITER_BATCH_BUCKETS - 1)
			wbuf_printf(&b, "domino_writer_batch_size_bucket{le=\"%u\"} %llu\n",
			    1u << i, (unsigned long long)cum);
		else
			wbuf_printf(&b, "domino_writer_batch_size_bucket{le=\"+Inf\"} %llu\n",
			    (unsigned long long)cum);
	}
	wbuf_printf(&b, "domino_writer_batch_size_sum %llu\ndomino_writer_batch_size_count %llu\n",
	    (unsigned long long)s.ws.commands, (unsigned long long)s.ws.commits);
	wbuf_printf(&b, "# HELP domino_writer_commit_seconds Time to apply and commit a batch.\n"
	    "# TYPE domino_writer_commit_seconds histogram\n");
	cum = 0;
	for (int i = 0; i < WRITER_COMMIT_BUCKETS; i++) {
		cum += s.ws.commit_hist[i];
		if (i < WRITER_COMMIT_BUCKETS - 1)
			wbuf_printf(&b, "domino_writer_commit_seconds_bucket{le=\"%g\"} %llu\n",
			    (double)writer_commit_bounds_us[i] / 1e6, (unsigned long long)cum);
		else
			wbuf_printf(&b, "domino_writer_commit_seconds_bucket{le=\"+Inf\"} %llu\n",
			    (unsigned long long)cum);
	}
	wbuf_printf(&b, "domino_writer_commit_seconds_sum %g\ndomino_writer_commit_seconds_count %llu\n",
	    (double)s.ws.commit_us_sum / 1e6, (unsigned long long)s.ws.commits);
	wbuf_printf(&b, "# HELP domino_match_seconds CPU time (writer thread clock) spent matching new events against the dependency graph.\n"
	    "# TYPE domino_match_seconds summary\n"
	    "domino_match_seconds_sum %.9f\ndomino_match_seconds_count %llu\n",
	    (double)s.ws.match_ns_sum / 1e9, (unsigned long long)s.ws.match_events);
	wbuf_printf(&b, "# HELP domino_match_listeners_total Listeners reached by matching (direct and transitive).\n"
	    "# TYPE domino_match_listeners_total counter\ndomino_match_listeners_total %llu\n",
	    (unsigned long long)s.ws.match_hits);
	wbuf_printf(&b, "# HELP domino_fanout_messages_total Events published live (a batch of one topic counts each event).\n"
	    "# TYPE domino_fanout_messages_total counter\ndomino_fanout_messages_total %llu\n",
	    (unsigned long long)s.fan_sent);
	wbuf_printf(&b, "# HELP domino_subscribers Live subscribers connected.\n"
	    "# TYPE domino_subscribers gauge\ndomino_subscribers %llu\n",
	    (unsigned long long)s.subscribers);
	wbuf_printf(&b, "# HELP domino_listeners Registered listeners.\n"
	    "# TYPE domino_listeners gauge\ndomino_listeners %llu\n",
	    (unsigned long long)s.listeners);
	wbuf_printf(&b, "# HELP domino_deliveries_total Delivery attempts by outcome since start.\n"
	    "# TYPE domino_deliveries_total counter\n"
	    "domino_deliveries_total{outcome=\"ok\"} %llu\n"
	    "domino_deliveries_total{outcome=\"retry\"} %llu\n"
	    "domino_deliveries_total{outcome=\"dead\"} %llu\n",
	    (unsigned long long)s.ds.ok, (unsigned long long)s.ds.retried,
	    (unsigned long long)s.ds.dead);
	wbuf_printf(&b, "# HELP domino_plugin_deliveries_total Delivery answers by plugin since start.\n"
	    "# TYPE domino_plugin_deliveries_total counter\n");
	for (int i = 0; i < s.ds.n_plugins; i++)
		wbuf_printf(&b, "domino_plugin_deliveries_total{plugin=\"%s\",outcome=\"ok\"} %llu\n"
		    "domino_plugin_deliveries_total{plugin=\"%s\",outcome=\"retry\"} %llu\n"
		    "domino_plugin_deliveries_total{plugin=\"%s\",outcome=\"dead\"} %llu\n",
		    s.ds.plugin[i].name, (unsigned long long)s.ds.plugin[i].ok,
		    s.ds.plugin[i].name, (unsigned long long)s.ds.plugin[i].retried,
		    s.ds.plugin[i].name, (unsigned long long)s.ds.plugin[i].dead);
	wbuf_printf(&b, "# HELP domino_delivery_latency_seconds From an event's arrival to its delivery's ok.\n"
	    "# TYPE domino_delivery_latency_seconds histogram\n");
	cum = 0;
	for (int i = 0; i < DELIVER_LAT_BUCKETS; i++) {
		cum += s.ds.lat_hist[i];
		if (i < DELIVER_LAT_BUCKETS - 1)
			wbuf_printf(&b, "domino_delivery_latency_seconds_bucket{le=\"%g\"} %llu\n",
			    deliver_lat_bounds_s[i], (unsigned long long)cum);
		else
			wbuf_printf(&b, "domino_delivery_latency_seconds_bucket{le=\"+Inf\"} %llu\n",
			    (unsigned long long)cum);
	}
	wbuf_printf(&b, "domino_delivery_latency_seconds_sum %g\n"
	    "domino_delivery_latency_seconds_count %llu\n", s.ds.lat_sum_s,
	    (unsigned long long)cum);
	wbuf_printf(&b, "# HELP domino_plugin_restarts_total Exits of external plugins since discovery.\n"
	    "# TYPE domino_plugin_restarts_total counter\n");
	plugins_health(plugin_restarts_line, &b);
	wbuf_printf(&b, "# HELP domino_deliveries_open Deliveries not yet ok or dead (the backlog).\n"
	    "# TYPE domino_deliveries_open gauge\ndomino_deliveries_open %llu\n",
	    (unsigned long long)s.due);
	wbuf_printf(&b, "# HELP domino_deliveries_in_flight Deliveries being attempted.\n"
	    "# TYPE domino_deliveries_in_flight gauge\ndomino_deliveries_in_flight %u\n",
	    s.ds.in_flight);
	wbuf_printf(&b, "# HELP domino_retention_trimmed_total Events trimmed by retention.\n"
	    "# TYPE domino_retention_trimmed_total counter\ndomino_retention_trimmed_total %llu\n",
	    (unsigned long long)s.rs.trimmed);
	wbuf_printf(&b, "# HELP domino_retention_held_back Events due for trimming but still needed.\n"
	    "# TYPE domino_retention_held_back gauge\ndomino_retention_held_back %llu\n",
	    (unsigned long long)s.rs.held_back);
	reply(aio, 200, "text/plain; version=0.0.4", &b);
}

static void
api_status(nng_aio *aio)
{
	struct admin *a = nng_http_handler_get_data(nng_aio_get_input(aio, 1));
	struct snap s;
	struct wbuf b = {0};
	char whybuf[320];

	take(a, &s);
	status_json(&s, degraded(&s, whybuf, sizeof(whybuf)), &b);
	reply(aio, 200, "application/json", &b);
}

/* One web page: run the route's renderer and send what it made. */
static void
web_page(nng_aio *aio)
{
	struct route_ctx *c = nng_http_handler_get_data(nng_aio_get_input(aio, 1));
	nng_http_req *req = nng_aio_get_input(aio, 0);
	const char *uri = nng_http_req_get_uri(req);
	struct web_reply r = {.status = 200, .cache = "no-store"};
	char path[512];
	size_t plen = strcspn(uri, "?#");
	nng_http_res *res;
	int rv;

	if (plen >= sizeof(path)) {
		nng_aio_finish(aio, NNG_EINVAL);
		return;
	}
	memcpy(path, uri, plen);
	path[plen] = '\0';
	c->rt->fn(&c->a->env, path, uri, &r);
	if ((r.text == NULL && r.body.bad) || nng_http_res_alloc(&res) != 0) {
		wbuf_free(&r.body);
		nng_aio_finish(aio, NNG_ENOMEM);
		return;
	}
	nng_http_res_set_status(res, (uint16_t)r.status);
	nng_http_res_set_header(res, "Content-Type", r.type);
	nng_http_res_set_header(res, "Cache-Control", r.cache);
	nng_http_res_set_header(res, "X-Content-Type-Options", "nosniff");
	nng_http_res_set_header(res, "Referrer-Policy", "no-referrer");
	if (r.csp != NULL)
		nng_http_res_set_header(res, "Content-Security-Policy", r.csp);
	if (r.text != NULL)
		rv = nng_http_res_set_data(res, r.text, strlen(r.text));
	else
		rv = nng_http_res_copy_data(res, r.body.p ? r.body.p : "",
		    r.body.n);
	wbuf_free(&r.body);
	if (rv != 0) {
		nng_http_res_free(res);
		nng_aio_finish(aio, rv);
		return;
	}
	nng_aio_set_output(aio, 0, res);
	nng_aio_finish(aio, 0);
}

static int
add_handler(struct admin *a, const char *path, void (*fn)(nng_aio *),
    void *data, int tree)
{
	nng_http_handler *h;
	int rv;

	if ((rv = nng_http_handler_alloc(&h, path, fn)) != 0)
		return rv;
	nng_http_handler_set_method(h, "GET");
	nng_http_handler_set_data(h, data, NULL);
	if (tree)
		nng_http_handler_set_tree(h);
	if ((rv = nng_http_server_add_handler(a->srv, h)) != 0)
		nng_http_handler_free(h);
	return rv;
}

static int
add(struct admin *a, const char *path, void (*fn)(nng_aio *))
{
	return add_handler(a, path, fn, a, 0);
}

static int
add_pages(struct admin *a)
{
	size_t n = 0;
	int rv;

	while (web_routes[n].path != NULL)
		n++;
	if ((a->routes = calloc(n, sizeof(*a->routes))) == NULL)
		return NNG_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		a->routes[i].a = a;
		a->routes[i].rt = &web_routes[i];
		if ((rv = add_handler(a, web_routes[i].path, web_page,
		    &a->routes[i], web_routes[i].tree)) != 0)
			return rv;
	}
	return 0;
}

int
admin_open(const char *url, const struct admin_env *env, struct admin **out,
    char **bound, char *err, size_t errlen)
{
	struct admin *a;
	nng_url *u = NULL;
	nng_sockaddr sa;
	int rv;

	if ((a = calloc(1, sizeof(*a))) == NULL)
		return DOMINO_ENOMEM;
	a->env = *env;
	if ((rv = nng_url_parse(&u, url)) != 0 ||
	    (rv = nng_http_server_hold(&a->srv, u)) != 0)
		goto fail;
	if ((rv = add(a, "/healthz", healthz)) != 0 ||
	    (rv = add(a, "/metrics", metrics)) != 0 ||
	    (rv = add(a, "/api/status", api_status)) != 0 ||
	    (rv = add_pages(a)) != 0)
		goto fail;
	if (strcmp(u->u_scheme, "https") == 0 &&
	    (env->tls == NULL || (rv = nng_http_server_set_tls(a->srv,
	    env->tls)) != 0)) {
		if (env->tls == NULL)
			rv = NNG_ENOTSUP;
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
	free(a->routes);
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
	free(a->routes);
	free(a);
}
