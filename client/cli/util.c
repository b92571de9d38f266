/* SPDX-License-Identifier: MIT */
/*
 * What every `domino` command shares: finding the broker and the token,
 * opening the handle, reporting failures and usage errors, parsing
 * options. Files read here are small and capped (run.json, admin.token).
 */
#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define SMALL_FILE_MAX (64 * 1024)

/* Read a whole small file into a NUL-terminated string; NULL when it is
 * absent, unreadable or over the cap. */
static char *
read_small(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t n;

	if (f == NULL)
		return NULL;
	buf = malloc(SMALL_FILE_MAX + 1);
	if (buf == NULL)
		goto out;
	n = fread(buf, 1, SMALL_FILE_MAX + 1, f);
	if (ferror(f) || n > SMALL_FILE_MAX) {
		free(buf);
		buf = NULL;
		goto out;
	}
	buf[n] = '\0';
out:
	fclose(f);
	return buf;
}

static char *
path_join(const char *dir, const char *name)
{
	char *p = NULL;

	if (asprintf(&p, "%s/%s", dir, name) < 0)
		return NULL;
	return p;
}

/* The first non-empty of a, b; NULL when neither. */
static const char *
first(const char *a, const char *b)
{
	if (a != NULL && *a != '\0')
		return a;
	if (b != NULL && *b != '\0')
		return b;
	return NULL;
}

/* control and pub from <data>/run.json, the broker's record of its last
 * start; silently nothing when it is absent or unreadable. */
static void
read_run_json(struct cli *c)
{
	char *path = path_join(c->data, "run.json"), *text = NULL;
	cJSON *j = NULL, *v;

	if (path == NULL)
		return;
	text = read_small(path);
	if (text == NULL)
		goto out;
	j = cJSON_Parse(text);
	v = cJSON_GetObjectItemCaseSensitive(j, "control");
	if (cJSON_IsString(v) && *v->valuestring != '\0')
		c->control = strdup(v->valuestring);
	v = cJSON_GetObjectItemCaseSensitive(j, "pub");
	if (c->control != NULL && cJSON_IsString(v) && *v->valuestring != '\0')
		c->pub = strdup(v->valuestring);
out:
	cJSON_Delete(j);
	free(text);
	free(path);
}

/* The admin token from <data>/admin.token, whitespace trimmed. */
static void
read_token_file(struct cli *c)
{
	char *path = path_join(c->data, "admin.token"), *text, *s, *e;

	if (path == NULL)
		return;
	text = read_small(path);
	free(path);
	if (text == NULL)
		return;
	for (s = text; isspace((unsigned char)*s); s++)
		;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		e--;
	if (e > s)
		c->token = strndup(s, (size_t)(e - s));
	memset(text, 0, strlen(text));
	free(text);
}

static void
log_stderr(void *arg, int level, const char *msg)
{
	(void)arg;
	fprintf(stderr, "domino: %s: %s\n",
	    level <= DOMINO_LOG_ERROR ? "error" :
	    level == DOMINO_LOG_WARN ? "warning" : "note", msg);
}

int
cli_open(struct cli *c, domino **d)
{
	struct domino_opts o = {0};
	const char *v;
	int rv;

	*d = NULL;
	c->data = strdup(first(c->data_opt, first(getenv("DOMINO_DATA"),
	    DATA_DIR_DEFAULT)));
	v = first(c->control_opt, getenv("DOMINO_CONTROL"));
	if (v != NULL)
		c->control = strdup(v);
	else if (c->data != NULL)
		read_run_json(c);
	if (c->control == NULL)
		c->control = strdup(DOMINO_CONTROL_DEFAULT);
	v = first(c->token_opt, getenv("DOMINO_TOKEN"));
	if (v != NULL)
		c->token = strdup(v);
	else if (c->data != NULL)
		read_token_file(c);
	if (c->data == NULL || c->control == NULL) {
		fprintf(stderr, "domino: out of memory\n");
		return 1;
	}
	o.control = c->control;
	o.pub = c->pub;
	o.token = c->token;
	o.ca_file = first(c->ca_opt, getenv("DOMINO_CA"));
	o.log = log_stderr;
	o.log_level = DOMINO_LOG_INFO;
	rv = domino_open(d, &o);
	if (rv != DOMINO_OK)
		return cli_fail(c, rv);
	return 0;
}

void
cli_free(struct cli *c)
{
	free(c->data);
	free(c->control);
	free(c->pub);
	if (c->token != NULL) {
		memset(c->token, 0, strlen(c->token));
		free(c->token);
	}
	c->data = c->control = c->pub = c->token = NULL;
}

int
cli_fail(const struct cli *c, int err)
{
	const char *msg = domino_errmsg();

	if (*msg == '\0')
		msg = domino_strerror(err);
	fprintf(stderr, "domino: %s\n", msg);
	if (err == DOMINO_ETRANSPORT)
		fprintf(stderr, "domino: is dominod running? (control %s; "
		    "--control, DOMINO_CONTROL or %s/run.json)\n",
		    c->control ? c->control : "?", c->data ? c->data : "?");
	else if (err == DOMINO_EUNAUTH && c->token == NULL)
		fprintf(stderr, "domino: no token: pass --token, set "
		    "DOMINO_TOKEN, or make %s/admin.token readable\n",
		    c->data ? c->data : "?");
	return 1;
}

int
cli_usage(const struct cli_cmd *cmd, const char *fmt, ...)
{
	va_list ap;

	fputs("domino: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nusage: domino %s\n", cmd->synopsis);
	return EXIT_USAGE;
}

void
cli_help(const struct cli_cmd *cmd, FILE *f)
{
	fprintf(f, "usage: domino %s\n\n%s\n", cmd->synopsis, cmd->summary);
	if (cmd->help != NULL && *cmd->help != '\0')
		fprintf(f, "\n%s", cmd->help);
	fputs("\nglobal options:\n"
	    "  --control URL   broker control address (DOMINO_CONTROL, "
	    "<data>/run.json,\n"
	    "                  else " DOMINO_CONTROL_DEFAULT ")\n"
	    "  --ca FILE       CA certificate for a tls+tcp:// broker (DOMINO_CA)\n"
	    "  --token T       admin or listener token (DOMINO_TOKEN, "
	    "<data>/admin.token)\n"
	    "  --data DIR      broker data directory (DOMINO_DATA, else "
	    DATA_DIR_DEFAULT ")\n"
	    "  --json          machine-readable output\n"
	    "  --help          this text\n", f);
}

int
cli_opt_val(int argc, char **argv, int *i, const char *name,
    const char **val)
{
	const char *a = argv[*i];
	size_t n = strlen(name);

	if (strncmp(a, name, n) != 0)
		return 0;
	if (a[n] == '=') {
		*val = a + n + 1;
		(*i)++;
		return 1;
	}
	if (a[n] != '\0')
		return 0;
	if (*i + 1 >= argc)
		return -1;
	*val = argv[*i + 1];
	*i += 2;
	return 1;
}

int
cli_opt_flag(char **argv, int i, const char *name)
{
	return strcmp(argv[i], name) == 0;
}

int
cli_println(const char *line)
{
	if (fputs(line, stdout) == EOF || putchar('\n') == EOF ||
	    fflush(stdout) == EOF)
		return -1;
	return 0;
}

int
cli_read_line(FILE *f, char **buf, size_t *cap, size_t *len, int *toolong)
{
	size_t n = 0;
	int c, any = 0;

	*toolong = 0;
	/* getc: stdio hands back a line as soon as its bytes arrived; it
	 * does not wait to fill its buffer from a pipe. */
	for (;;) {
		c = getc(f);
		if (c == EOF)
			break;
		any = 1;
		if (c == '\n')
			break;
		if (n >= CLI_LINE_MAX) {
			*toolong = 1;
			continue;
		}
		if (n + 1 >= *cap) {
			size_t ncap = *cap ? *cap * 2 : 4096;
			char *nb = realloc(*buf, ncap);
			if (nb == NULL)
				return -1;
			*buf = nb;
			*cap = ncap;
		}
		(*buf)[n++] = (char)c;
	}
	if (ferror(f))
		return -1;
	if (!any)
		return 0;
	if (n > 0 && (*buf)[n - 1] == '\r')
		n--;
	if (*buf != NULL)
		(*buf)[n] = '\0';
	*len = n;
	return 1;
}
