/* SPDX-License-Identifier: MIT */
/*
 * The file callback plugin: append the CloudEvents JSON of each delivery
 * as one line to a file (audit trails, debugging). The line goes out in a
 * single write() on an O_APPEND descriptor, so lines from concurrent
 * deliveries never interleave. Any I/O error is a retry: the operator can
 * fix a full disk or a permission.
 *
 * It does not rotate, fsync or lock the file.
 */
#include <errno.h>
#include <fcntl.h>
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "pconf.h"
#include "plugin.h"
#include "render.h"

#define FILE_PATH_MAX 4096

static const struct plugin_key file_keys[] = {
	{"path", 1, 0, "absolute path of the file to append one JSON line per event to"},
	{NULL, 0, 0, NULL},
};

static int
file_validate(const msgpack_object *cfg, char *err, size_t errlen)
{
	struct pstr s;
	int r = pconf_str(cfg, "path", &s);

	if (r == 0)
		return pconf_fail(err, errlen, "path", "required");
	if (r < 0 || s.n == 0 || s.n > FILE_PATH_MAX || pstr_has_nul(s))
		return pconf_fail(err, errlen, "path", "must be a path of 1 to "
		    "%d bytes", FILE_PATH_MAX);
	if (s.p[0] != '/')
		return pconf_fail(err, errlen, "path", "must be absolute "
		    "(start with /)");
	if (s.p[s.n - 1] == '/')
		return pconf_fail(err, errlen, "path", "names a directory");
	return 0;
}

static void
file_deliver(const struct plugin_job *job, struct plugin_result *res)
{
	char *path = NULL, *json = NULL, *line = NULL;
	size_t len = 0;
	ssize_t w;
	int fd = -1, rv;

	res->outcome = PLUGIN_RETRY;
	res->status = -1;
	res->retry_after_ms = -1;
	res->detail[0] = '\0';
	path = pconf_strdup(job->config, "path");
	if (path == NULL) {
		res->outcome = PLUGIN_FAIL;
		snprintf(res->detail, sizeof(res->detail),
		    "callback.config.path: missing or not a string");
		goto out;
	}
	rv = render_cloudevent(job, &json, &len);
	if (rv == DOMINO_OK) {
		line = realloc(json, len + 1);
		if (line == NULL)
			rv = DOMINO_ENOMEM;
		else
			json = NULL;
	}
	if (rv != DOMINO_OK) {
		snprintf(res->detail, sizeof(res->detail), "cannot render the "
		    "event: %s", domino_strerror(rv));
		if (rv != DOMINO_ENOMEM)
			res->outcome = PLUGIN_FAIL;
		goto out;
	}
	line[len++] = '\n';
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY |
	    O_NONBLOCK,
	    0640);
	if (fd < 0) {
		snprintf(res->detail, sizeof(res->detail), "open %.300s: %s",
		    path, strerror(errno));
		goto out;
	}
	do
		w = write(fd, line, len);
	while (w < 0 && errno == EINTR);
	if (w < 0) {
		snprintf(res->detail, sizeof(res->detail), "write %.300s: %s",
		    path, strerror(errno));
		goto out;
	}
	if ((size_t)w != len) {
		snprintf(res->detail, sizeof(res->detail), "write %.300s: short "
		    "write (%zd of %zu bytes; disk full?)", path, w, len);
		goto out;
	}
	rv = close(fd);
	fd = -1;
	if (rv != 0) {
		snprintf(res->detail, sizeof(res->detail), "close %.300s: %s",
		    path, strerror(errno));
		goto out;
	}
	res->outcome = PLUGIN_OK;
	snprintf(res->detail, sizeof(res->detail), "appended %zu bytes", len);
out:
	if (fd >= 0)
		close(fd);
	free(line);
	free(json);
	free(path);
}

const struct plugin_desc plugin_file = {
	.name = "file",
	.summary = "append JSON lines to a file",
	.keys = file_keys,
	.validate = file_validate,
	.deliver = file_deliver,
};
