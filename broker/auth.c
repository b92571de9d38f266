/* SPDX-License-Identifier: MIT */
/*
 * Admin token; see auth.h. Comparing hashes of both sides keeps the compare
 * constant time even when the lengths differ.
 */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth.h"
#include "err.h"

#define TOKEN_BYTES 32

struct auth {
	unsigned char admin_hash[crypto_generichash_BYTES];
	char path[4096];
};

int
auth_read_secret_file(const char *path, char **out, char *err, size_t errlen)
{
	struct stat sb;
	char *buf = NULL;
	ssize_t n;
	size_t len;
	int fd, rv = DOMINO_EIO;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
		return errno == ENOENT ? DOMINO_ENOTFOUND : DOMINO_EIO;
	}
	if (fstat(fd, &sb) != 0 || sb.st_size > 65536) {
		snprintf(err, errlen, "%s: not a small regular file", path);
		goto out;
	}
	if (sb.st_mode & (S_IRWXG | S_IRWXO)) {
		snprintf(err, errlen, "%s is readable by others (mode %03o); "
		    "run: chmod 600 %s", path, (unsigned)(sb.st_mode & 0777), path);
		goto out;
	}
	if ((buf = sodium_malloc((size_t)sb.st_size + 1)) == NULL) {
		rv = DOMINO_ENOMEM;
		goto out;
	}
	n = read(fd, buf, (size_t)sb.st_size);
	if (n < 0 || n != sb.st_size) {
		snprintf(err, errlen, "cannot read %s", path);
		goto out;
	}
	len = (size_t)n;
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r' ||
	    buf[len - 1] == ' ' || buf[len - 1] == '\t'))
		len--;
	buf[len] = '\0';
	*out = buf;
	buf = NULL;
	rv = DOMINO_OK;
out:
	if (buf != NULL)
		sodium_free(buf);
	close(fd);
	return rv;
}

static int
create_token(const char *path, char *err, size_t errlen)
{
	unsigned char raw[TOKEN_BYTES];
	char hex[TOKEN_BYTES * 2 + 2];
	int fd;
	ssize_t n;

	randombytes_buf(raw, sizeof(raw));
	sodium_bin2hex(hex, sizeof(hex), raw, sizeof(raw));
	sodium_memzero(raw, sizeof(raw));
	strcat(hex, "\n");
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "cannot create %s: %s", path, strerror(errno));
		return errno == EEXIST ? DOMINO_ECONFLICT : DOMINO_EIO;
	}
	n = write(fd, hex, strlen(hex));
	sodium_memzero(hex, sizeof(hex));
	if (n < 0 || fsync(fd) != 0) {
		snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
		close(fd);
		unlink(path);
		return DOMINO_EIO;
	}
	close(fd);
	return DOMINO_OK;
}

int
auth_open(const char *data_dir, struct auth **out, char *err, size_t errlen)
{
	struct auth *a;
	char *tok = NULL;
	int rv;

	if ((a = calloc(1, sizeof(*a))) == NULL)
		return DOMINO_ENOMEM;
	snprintf(a->path, sizeof(a->path), "%s/admin.token", data_dir);
	rv = auth_read_secret_file(a->path, &tok, err, errlen);
	if (rv == DOMINO_ENOTFOUND) {
		rv = create_token(a->path, err, errlen);
		if (rv == DOMINO_OK || rv == DOMINO_ECONFLICT)
			rv = auth_read_secret_file(a->path, &tok, err, errlen);
	}
	if (rv != DOMINO_OK) {
		free(a);
		return rv;
	}
	if (strlen(tok) < 16) {
		snprintf(err, errlen, "%s: the token is shorter than 16 characters",
		    a->path);
		sodium_free(tok);
		free(a);
		return DOMINO_EINVAL;
	}
	crypto_generichash(a->admin_hash, sizeof(a->admin_hash),
	    (unsigned char *)tok, strlen(tok), NULL, 0);
	sodium_free(tok);
	*out = a;
	return DOMINO_OK;
}

int
auth_is_admin(const struct auth *a, const char *token, size_t len)
{
	unsigned char h[crypto_generichash_BYTES];

	if (token == NULL || len == 0)
		return 0;
	crypto_generichash(h, sizeof(h), (const unsigned char *)token, len,
	    NULL, 0);
	return sodium_memcmp(h, a->admin_hash, sizeof(h)) == 0;
}

const char *
auth_token_path(const struct auth *a)
{
	return a->path;
}

void
auth_close(struct auth *a)
{
	if (a == NULL)
		return;
	sodium_memzero(a, sizeof(*a));
	free(a);
}
