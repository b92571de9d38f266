/* SPDX-License-Identifier: MIT */
/*
 * dominod: argv, signals, and the start/stop order of the modules.
 *
 * Start: config -> data dir -> credentials -> store -> fan-out -> writer ->
 * ingest -> control -> admin -> ready file. Stop (SIGTERM/SIGINT): ingest
 * stops taking webhooks and waits for what is queued, the writer commits the
 * rest, then everything closes in reverse. Signals are blocked in every
 * thread and taken with sigwait() here, so no handler runs inside nng.
 */
#include <curl/curl.h>
#include <errno.h>
#include <nng/nng.h>
#include <nng/supplemental/tls/tls.h>
#include <fcntl.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "admin.h"
#include "auth.h"
#include "config.h"
#include "control.h"
#include "deliver.h"
#include "err.h"
#include "fanout.h"
#include "ingest.h"
#include "log.h"
#include "plugins/external.h"
#include "registry.h"
#include "retention.h"
#include "secrets.h"
#include "store.h"
#include "tls.h"
#include "version.h"
#include "writer.h"

static const char usage[] =
    "usage: dominod [options]\n"
    "  --config FILE        YAML configuration (every key has a default)\n"
    "  --data DIR           data directory (default ./var/domino)\n"
    "  --http URL           webhook ingest (default http://127.0.0.1:8700)\n"
    "  --pub URL            live fan-out (default tcp://127.0.0.1:8701)\n"
    "  --control URL        control socket (default tcp://127.0.0.1:8702)\n"
    "  --admin URL          admin HTTP (default http://127.0.0.1:8703)\n"
    "  --ready-file FILE    write the bound addresses as JSON once ready\n"
    "  --log-format FMT     human (default) or json\n"
    "  --log-level LEVEL    error, warn, info (default) or debug\n"
    "  --version            print the version and exit\n"
    "  --help               this text\n";

static int
replace_str(char **dst, const char *src)
{
	char *c = strdup(src);

	if (c == NULL)
		return -1;
	free(*dst);
	*dst = c;
	return 0;
}

/* mkdir -p with mode 0700 for what it creates. */
static int
make_dirs(const char *path)
{
	char buf[4096];
	size_t n = strlen(path);

	if (n == 0 || n >= sizeof(buf))
		return -1;
	memcpy(buf, path, n + 1);
	for (char *p = buf + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0700) != 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(buf, 0700) != 0 && errno != EEXIST)
		return -1;
	return 0;
}

/* Write content to path atomically (temp file + rename). */
static int
write_file_atomic(const char *path, const char *content, mode_t mode)
{
	char tmp[4200];
	int fd;
	size_t n = strlen(content);

	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)) < 0)
		return -1;
	if (write(fd, content, n) != (ssize_t)n || fsync(fd) != 0) {
		close(fd);
		unlink(tmp);
		return -1;
	}
	close(fd);
	if (rename(tmp, path) != 0) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

/* Configs replaced by SIGHUP: requests in progress may still read them,
 * so they live until exit. */
struct retired {
	struct retired *next;
	struct config cfg;
};

/*
 * SIGHUP: load the file again. What can change at run time (sources and
 * their secrets, limits, the log level and format) takes effect; listen
 * addresses and the data directory need a restart. A bad file changes
 * nothing and says why.
 */
static void
reload(const char *path, const struct config *cur, const char *o_fmt,
    const char *o_level, struct ingest *in, struct control *ctl,
    struct retired **retired, const struct config **live)
{
	struct retired *r;
	char err[1024] = "";

	if (path == NULL) {
		log_msg(LOG_INFO, "SIGHUP: no --config file; nothing to reload");
		return;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return;
	if (config_load(path, &r->cfg, err, sizeof(err)) != DOMINO_OK) {
		log_msg(LOG_ERROR, "SIGHUP: config not reloaded, the old one stays: %s", err);
		config_free(&r->cfg);
		free(r);
		return;
	}
	/* Flags given at start keep winning over the file. */
	if (config_set_data_dir(&r->cfg, cur->data_dir) != DOMINO_OK ||
	    config_load_sources_file(&r->cfg, err, sizeof(err)) != DOMINO_OK) {
		log_msg(LOG_ERROR, "SIGHUP: config not reloaded, the old one stays: %s", err);
		config_free(&r->cfg);
		free(r);
		return;
	}
	free(r->cfg.listen.http);
	free(r->cfg.listen.pub);
	free(r->cfg.listen.control);
	free(r->cfg.listen.admin);
	r->cfg.listen.http = strdup(cur->listen.http);
	r->cfg.listen.pub = strdup(cur->listen.pub);
	r->cfg.listen.control = strdup(cur->listen.control);
	r->cfg.listen.admin = strdup(cur->listen.admin);
	if (log_setup(o_level ? o_level : r->cfg.log_level,
	    o_fmt ? o_fmt : r->cfg.log_format) != 0)
		log_msg(LOG_WARN, "SIGHUP: log settings unchanged");
	ingest_set_config(in, &r->cfg);
	control_set_config(ctl, &r->cfg);
	r->next = *retired;
	*retired = r;
	*live = &r->cfg;
	log_msg(LOG_INFO, "SIGHUP: config reloaded from %s (listen addresses, "
	    "data_dir, writer and delivery settings apply at the next start)", path);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"config", required_argument, NULL, 'c'},
		{"data", required_argument, NULL, 'd'},
		{"http", required_argument, NULL, 'H'},
		{"pub", required_argument, NULL, 'P'},
		{"control", required_argument, NULL, 'C'},
		{"admin", required_argument, NULL, 'A'},
		{"ready-file", required_argument, NULL, 'r'},
		{"log-format", required_argument, NULL, 'f'},
		{"log-level", required_argument, NULL, 'l'},
		{"version", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *config_path = NULL, *ready_path = NULL;
	const char *o_data = NULL, *o_http = NULL, *o_pub = NULL,
		   *o_control = NULL, *o_admin = NULL, *o_fmt = NULL,
		   *o_level = NULL;
	struct config cfg = {0};
	struct store *st = NULL;
	struct fanout *fo = NULL;
	struct writer *w = NULL;
	struct ingest *in = NULL;
	struct control *ctl = NULL;
	struct admin *adm = NULL;
	struct auth *auth = NULL;
	struct deliver *dl = NULL;
	struct retention *ret = NULL;
	struct retired *retired = NULL;
	nng_tls_config *tls = NULL;
	const struct config *live = &cfg;
	char *b_http = NULL, *b_pub = NULL, *b_control = NULL, *b_admin = NULL;
	char err[1024] = "", sdir[4096], ready[8192];
	sigset_t sigs;
	int opt, sig, rc = 1;

	/*
	 * Replies of a few hundred KiB (log pages) are built and freed on
	 * every request, across nng's threads and so across malloc arenas.
	 * With glibc's dynamic thresholds, whether those go to fresh mmaps or
	 * are trimmed back to the kernel depends on the process's history; on
	 * a fresh broker every request faulted its pages in again (220 faults
	 * per page of 1,000 events, nearly half the broker's CPU in a
	 * replay). Fixed thresholds keep such buffers in the arenas for reuse;
	 * a free arena top of up to 4 MiB is kept, not returned.
	 */
	mallopt(M_MMAP_THRESHOLD, 2 * 1024 * 1024);
	mallopt(M_TRIM_THRESHOLD, 4 * 1024 * 1024);
	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c': config_path = optarg; break;
		case 'd': o_data = optarg; break;
		case 'H': o_http = optarg; break;
		case 'P': o_pub = optarg; break;
		case 'C': o_control = optarg; break;
		case 'A': o_admin = optarg; break;
		case 'r': ready_path = optarg; break;
		case 'f': o_fmt = optarg; break;
		case 'l': o_level = optarg; break;
		case 'v': printf("dominod %s\n", DOMINO_VERSION); return 0;
		case 'h': fputs(usage, stdout); return 0;
		default: fputs(usage, stderr); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "dominod: unexpected argument '%s'\n%s", argv[optind], usage);
		return 2;
	}

	/* Block the stop signals before nng starts threads, so only sigwait
	 * below sees them. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (sodium_init() < 0) {
		fprintf(stderr, "dominod: libsodium failed to initialize\n");
		return 1;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, "dominod: libcurl failed to initialize\n");
		return 1;
	}
	if (config_path != NULL) {
		if (config_load(config_path, &cfg, err, sizeof(err)) != DOMINO_OK) {
			fprintf(stderr, "dominod: %s\n", err);
			goto out;
		}
	} else if (config_defaults(&cfg) != DOMINO_OK) {
		fprintf(stderr, "dominod: out of memory\n");
		goto out;
	}
	if ((o_data && config_set_data_dir(&cfg, o_data) != DOMINO_OK) ||
	    (o_http && replace_str(&cfg.listen.http, o_http)) ||
	    (o_pub && replace_str(&cfg.listen.pub, o_pub)) ||
	    (o_control && replace_str(&cfg.listen.control, o_control)) ||
	    (o_admin && replace_str(&cfg.listen.admin, o_admin))) {
		fprintf(stderr, "dominod: out of memory\n");
		goto out;
	}
	if (log_setup(o_level ? o_level : cfg.log_level,
	    o_fmt ? o_fmt : cfg.log_format) != 0) {
		fprintf(stderr, "dominod: unknown log level or format "
		    "(levels: error warn info debug; formats: human json)\n");
		goto out;
	}
	if (make_dirs(cfg.data_dir) != 0) {
		fprintf(stderr, "dominod: cannot create the data directory %s: %s\n",
		    cfg.data_dir, strerror(errno));
		goto out;
	}
	if (config_load_sources_file(&cfg, err, sizeof(err)) != DOMINO_OK ||
	    auth_open(cfg.data_dir, &auth, err, sizeof(err)) != DOMINO_OK) {
		fprintf(stderr, "dominod: %s\n", err);
		goto out;
	}
	if (secrets_open(cfg.data_dir, err, sizeof(err)) != DOMINO_OK ||
	    plugin_ext_start(cfg.plugins_dir, cfg.data_dir, err,
	        sizeof(err)) != DOMINO_OK) {
		fprintf(stderr, "dominod: %s\n", err);
		goto out;
	}
	if (tls_server_config(&cfg, &tls, err, sizeof(err)) != DOMINO_OK) {
		fprintf(stderr, "dominod: %s\n", err);
		goto out;
	}
	if (store_open(cfg.data_dir, &st, err, sizeof(err)) != DOMINO_OK ||
	    fanout_open(cfg.listen.pub, st, cfg.heartbeat_ms,
	        cfg.limits.max_subscribers, tls, &fo, &b_pub, err,
	        sizeof(err)) != DOMINO_OK) {
		fprintf(stderr, "dominod: %s\n", err);
		goto out;
	}
	if (writer_start(st, fo, cfg.writer.batch_max, cfg.writer.queue_max,
	    cfg.graph_max_depth, &w) != DOMINO_OK ||
	    registry_reindex(w) != DOMINO_OK) {
		fprintf(stderr, "dominod: cannot start the writer thread\n");
		goto out;
	}
	if (deliver_start(&cfg, st, w, &dl) != DOMINO_OK) {
		fprintf(stderr, "dominod: cannot start the delivery engine\n");
		goto out;
	}
	writer_set_hook(w, deliver_kick, dl);
	if (retention_start(&cfg, st, w, cfg.retention.interval_ms, &ret) != DOMINO_OK) {
		fprintf(stderr, "dominod: cannot start retention\n");
		goto out;
	}
	if (ingest_open(&cfg, w, tls, &in, &b_http, err, sizeof(err)) != DOMINO_OK) {
		fprintf(stderr, "dominod: %s\n", err);
		goto out;
	}
	{
		struct admin_env ae = {
			.cfg = &cfg, .st = st, .w = w, .in = in, .fo = fo,
			.dl = dl, .ret = ret, .started_ns = clock_now_ns(),
			.tls = tls,
		};
		if (admin_open(cfg.listen.admin, &ae, &adm, &b_admin, err,
		    sizeof(err)) != DOMINO_OK) {
			fprintf(stderr, "dominod: %s\n", err);
			goto out;
		}
	}
	{
		struct control_env env = {
			.cfg = &cfg, .st = st, .auth = auth, .w = w, .in = in,
			.fo = fo, .dl = dl, .ret = ret, .http = b_http, .pub = b_pub,
			.control = cfg.listen.control, .admin = b_admin,
			.started_ns = clock_now_ns(),
		};
		if (control_open(cfg.listen.control, &env, tls, &ctl, &b_control, err,
		    sizeof(err)) != DOMINO_OK) {
			fprintf(stderr, "dominod: %s\n", err);
			goto out;
		}
	}

	snprintf(ready, sizeof(ready),
	    "{\"pid\": %d, \"http\": \"%s\", \"pub\": \"%s\", \"control\": \"%s\", "
	    "\"admin\": \"%s\", \"data\": \"%s\", \"version\": \"%s\"}\n",
	    (int)getpid(), b_http, b_pub, b_control, b_admin, cfg.data_dir,
	    DOMINO_VERSION);
	snprintf(sdir, sizeof(sdir), "%s/run.json", cfg.data_dir);
	if (write_file_atomic(sdir, ready, 0600) != 0)
		log_msg(LOG_WARN, "cannot write %s: %s", sdir, strerror(errno));
	log_msg(LOG_INFO, "dominod %s ready pid=%d data=%s", DOMINO_VERSION,
	    (int)getpid(), cfg.data_dir);
	log_msg(LOG_INFO, "webhooks: POST %s/hooks/<source>", b_http);
	log_msg(LOG_INFO, "live fan-out (pub): %s", b_pub);
	log_msg(LOG_INFO, "control: %s", b_control);
	log_msg(LOG_INFO, "admin: %s/healthz", b_admin);
	if (cfg.sources_default)
		log_msg(LOG_INFO, "source secrets: %s/sources.yaml "
		    "(print one with: domino secret github)", cfg.data_dir);
	log_msg(LOG_INFO, "admin token: %s", auth_token_path(auth));
	if (ready_path != NULL && write_file_atomic(ready_path, ready, 0644) != 0) {
		fprintf(stderr, "dominod: cannot write the ready file %s: %s\n",
		    ready_path, strerror(errno));
		goto out;
	}

	for (;;) {
		if (sigwait(&sigs, &sig) != 0)
			continue;
		if (sig == SIGHUP) {
			reload(config_path, live, o_fmt, o_level, in, ctl, &retired,
			    &live);
			plugin_ext_reload(NULL, NULL);
			continue;
		}
		break;
	}
	log_msg(LOG_INFO, "stopping signal=%s", sig == SIGINT ? "INT" : "TERM");
	rc = 0;
out:
	/* Answer every webhook already taken, commit what is queued, then
	 * close; a control request arriving meanwhile is refused cleanly. */
	if (in != NULL)
		ingest_quiesce(in, 10000);
	admin_close(adm);
	deliver_stop(dl);
	plugin_ext_stop(); /* no worker delivers any more */
	retention_stop(ret);
	writer_stop(w);
	control_close(ctl);
	ingest_close(in);
	writer_free(w);
	deliver_free(dl);
	retention_free(ret);
	fanout_close(fo);
	store_close(st);
	if (tls != NULL)
		nng_tls_config_free(tls);
	auth_close(auth);
	free(b_http);
	free(b_pub);
	free(b_control);
	free(b_admin);
	if (rc == 0)
		log_msg(LOG_INFO, "stopped");
	config_free(&cfg);
	while (retired != NULL) {
		struct retired *next = retired->next;
		config_free(&retired->cfg);
		free(retired);
		retired = next;
	}
	secrets_close();
	curl_global_cleanup();
	return rc;
}
