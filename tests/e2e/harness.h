/* SPDX-License-Identifier: MIT */
/*
 * End-to-end harness: runs the real dominod from $DOMINO_BUILD on loopback
 * with ports 0 and --ready-file, in a fresh temporary data directory, and
 * gives tests the bound addresses, the admin token, signed HTTP posts and a
 * way to run the domino CLI. DOMINO_VALGRIND=1 runs the broker under
 * valgrind.
 */
#ifndef DOMINO_TEST_HARNESS_H
#define DOMINO_TEST_HARNESS_H

#include <stddef.h>
#include <sys/types.h>

struct broker {
	pid_t pid;
	char dir[256];     /* temp root; data lives in dir/data */
	char data[300];
	char config[300];  /* dir/config.yaml when one was given, else "" */
	char http[128], pub[128], control[128], admin[128];
	char token[128];
};

/*
 * When set before h_broker_start, listeners use TLS (https:// and
 * tls+tcp://); the config must then carry tls.cert and tls.key, and
 * requests verify the broker with this CA file.
 */
extern const char *h_tls_ca;

/* Path of a built binary ("dominod", "domino"). */
const char *h_bin(const char *name);

/* Path of a fixture under shared/fixtures/webhooks, e.g. "github/push.json". */
const char *h_fixture_path(const char *rel);

/* Read a whole file; NULL on error. Free with free(). */
char *h_read_file(const char *path, size_t *len);

/*
 * Start a broker in a new temp dir. config_yaml (may be NULL) is written to
 * dir/config.yaml and passed with --config. Returns 0 once the ready file
 * appeared (within 20 s), -1 otherwise.
 */
int h_broker_start(struct broker *b, const char *config_yaml);

/* Start again in the same directory (after a stop or kill). */
int h_broker_restart(struct broker *b);

/* SIGTERM and wait (up to 20 s); returns the exit status, -1 on timeout. */
int h_broker_stop(struct broker *b);

/* SIGKILL and reap. */
void h_broker_kill(struct broker *b);

/* Stop when still running and remove the directory. */
void h_broker_cleanup(struct broker *b);

/* A source's secret or token from the broker, via the `secret` control op. */
int h_source_secret(struct broker *b, const char *source, char *out,
    size_t cap);

/* hex HMAC-SHA256 of body with secret into out (65 bytes). */
void h_hmac_hex(const char *secret, const void *body, size_t len, char *out);

/*
 * POST body to url with extra "Name: value" headers (NULL-terminated list).
 * Returns the HTTP status (0 on a transport failure); *resp (may be NULL)
 * gets the response body (free it).
 */
long h_post(const char *url, const char *const *headers, const void *body,
    size_t len, char **resp);

/* POST a fixture to /hooks/github signed with secret, with a delivery id. */
long h_post_github(struct broker *b, const char *secret, const char *fixture,
    const char *event, const char *delivery, char **resp);

/*
 * Run the domino CLI with argv (NULL-terminated, without argv[0]) and the
 * broker's control/token in the environment; stdout into *out (may be
 * NULL; free it). Returns the exit status, -1 on timeout (30 s).
 */
int h_cli(struct broker *b, const char *const *argv, char **out);

/* GET url; the status (0 on a transport failure), the body in *resp. */
long h_get(const char *url, char **resp);

/* Run a raw HTTP request (method, path) against the ingest listener. */
long h_request(struct broker *b, const char *method, const char *path,
    const char *const *headers, const void *body, size_t len, char **resp);

#endif
