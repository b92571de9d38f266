/* SPDX-License-Identifier: MIT */
/*
 * Sealing secret config values; see secrets.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <msgpack.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "msg.h"
#include "plugins/plugin.h"
#include "secrets.h"

#define PREFIX_LEN (sizeof(SECRETS_PREFIX) - 1)
#define VALUE_MAX (1u << 20)

static unsigned char *key; /* sodium_malloc'd, crypto_secretbox_KEYBYTES */

static int
read_full(int fd, unsigned char *p, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = read(fd, p + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

int
secrets_open(const char *data_dir, char *err, size_t errlen)
{
	char path[4200], tmp[4300];
	struct stat st;
	int fd, rv = DOMINO_EIO;
	unsigned char extra;

	if (key != NULL)
		return DOMINO_OK;
	if ((key = sodium_malloc(crypto_secretbox_KEYBYTES)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return DOMINO_ENOMEM;
	}
	snprintf(path, sizeof(path), "%s/secret.key", data_dir);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && errno == ENOENT) {
		randombytes_buf(key, crypto_secretbox_KEYBYTES);
		snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0 || write(fd, key, crypto_secretbox_KEYBYTES) !=
		    (ssize_t)crypto_secretbox_KEYBYTES || fsync(fd) != 0 ||
		    close(fd) != 0 || link(tmp, path) != 0) {
			snprintf(err, errlen, "cannot create %s: %s", path,
			    strerror(errno));
			if (fd >= 0)
				unlink(tmp);
			goto fail;
		}
		unlink(tmp);
		return DOMINO_OK;
	}
	if (fd < 0) {
		snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
		goto fail;
	}
	if (fstat(fd, &st) != 0 || (st.st_mode & 077) != 0) {
		snprintf(err, errlen, "%s must not be readable by group or others "
		    "(chmod 600)", path);
		close(fd);
		goto fail;
	}
	if (read_full(fd, key, crypto_secretbox_KEYBYTES) != 0 ||
	    read(fd, &extra, 1) != 0) {
		snprintf(err, errlen, "%s must hold exactly %d bytes", path,
		    crypto_secretbox_KEYBYTES);
		close(fd);
		rv = DOMINO_EINVAL;
		goto fail;
	}
	close(fd);
	return DOMINO_OK;
fail:
	sodium_free(key);
	key = NULL;
	return rv;
}

void
secrets_close(void)
{
	sodium_free(key);
	key = NULL;
}

int
secrets_is_sealed(const char *s, size_t n)
{
	return n > PREFIX_LEN && memcmp(s, SECRETS_PREFIX, PREFIX_LEN) == 0;
}

/* Pack o sealed: "enc:v1:" + base64(nonce || box(msgpack(o))). */
static int
pack_sealed(msgpack_packer *pk, const msgpack_object *o)
{
	msgpack_sbuffer sb;
	msgpack_packer p;
	unsigned char *box = NULL;
	char *txt = NULL;
	size_t boxlen, b64len;
	int rv = DOMINO_ENOMEM;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&p, &sb, msgpack_sbuffer_write);
	if (msgpack_pack_object(&p, *o) != 0 || sb.size > VALUE_MAX)
		goto out;
	boxlen = crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + sb.size;
	b64len = sodium_base64_ENCODED_LEN(boxlen, sodium_base64_VARIANT_ORIGINAL);
	if ((box = malloc(boxlen)) == NULL ||
	    (txt = malloc(PREFIX_LEN + b64len)) == NULL)
		goto out;
	randombytes_buf(box, crypto_secretbox_NONCEBYTES);
	crypto_secretbox_easy(box + crypto_secretbox_NONCEBYTES,
	    (const unsigned char *)sb.data, sb.size, box, key);
	memcpy(txt, SECRETS_PREFIX, PREFIX_LEN);
	sodium_bin2base64(txt + PREFIX_LEN, b64len, box, boxlen,
	    sodium_base64_VARIANT_ORIGINAL);
	rv = msg_pack_cstr(pk, txt) == 0 ? DOMINO_OK : DOMINO_ENOMEM;
out:
	if (sb.data != NULL)
		sodium_memzero(sb.data, sb.size);
	msgpack_sbuffer_destroy(&sb);
	free(box);
	free(txt);
	return rv;
}

/* Pack the opened value of sealed string s (n bytes). */
static int
pack_opened(msgpack_packer *pk, const char *s, size_t n)
{
	size_t b64 = n - PREFIX_LEN, boxlen = 0;
	unsigned char *box = NULL, *plain = NULL;
	msgpack_unpacked u;
	int rv = DOMINO_EINVAL;

	msgpack_unpacked_init(&u);
	if (key == NULL || (box = malloc(b64)) == NULL ||
	    (plain = malloc(b64)) == NULL) {
		rv = key == NULL ? DOMINO_EINVAL : DOMINO_ENOMEM;
		goto out;
	}
	if (sodium_base642bin(box, b64, s + PREFIX_LEN, b64, NULL, &boxlen,
	    NULL, sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    boxlen < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES ||
	    crypto_secretbox_open_easy(plain, box + crypto_secretbox_NONCEBYTES,
	    boxlen - crypto_secretbox_NONCEBYTES, box, key) != 0)
		goto out;
	boxlen -= crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES;
	if (msgpack_unpack_next(&u, (const char *)plain, boxlen, NULL) !=
	    MSGPACK_UNPACK_SUCCESS)
		goto out;
	rv = msgpack_pack_object(pk, u.data) == 0 ? DOMINO_OK : DOMINO_ENOMEM;
out:
	msgpack_unpacked_destroy(&u);
	if (plain != NULL)
		sodium_memzero(plain, b64);
	free(plain);
	free(box);
	return rv;
}

/* Repack the config map *buf, sealing (pd != NULL) or opening values. */
static int
transform(const struct plugin_desc *pd, int seal, char **buf, size_t *len)
{
	msgpack_unpacked u;
	msgpack_sbuffer sb;
	msgpack_packer pk;
	int rv, changed = 0;

	if (msg_unpack(*buf, *len, &u) != DOMINO_OK ||
	    u.data.type != MSGPACK_OBJECT_MAP) {
		msgpack_unpacked_destroy(&u);
		return DOMINO_EINVAL;
	}
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	rv = msgpack_pack_map(&pk, u.data.via.map.size) == 0 ? DOMINO_OK :
	    DOMINO_ENOMEM;
	for (uint32_t i = 0; i < u.data.via.map.size && rv == DOMINO_OK; i++) {
		const msgpack_object *k = &u.data.via.map.ptr[i].key;
		const msgpack_object *v = &u.data.via.map.ptr[i].val;
		int sealed = v->type == MSGPACK_OBJECT_STR &&
		    secrets_is_sealed(v->via.str.ptr, v->via.str.size);
		const struct plugin_key *pk_ = NULL;

		if (msgpack_pack_object(&pk, *k) != 0) {
			rv = DOMINO_ENOMEM;
			break;
		}
		if (seal && k->type == MSGPACK_OBJECT_STR)
			pk_ = plugin_key_find(pd, k->via.str.ptr, k->via.str.size);
		if (seal && pk_ != NULL && pk_->secret && !sealed &&
		    v->type != MSGPACK_OBJECT_NIL) {
			rv = pack_sealed(&pk, v);
			changed = 1;
		} else if (!seal && sealed) {
			rv = pack_opened(&pk, v->via.str.ptr, v->via.str.size);
			changed = 1;
		} else if (msgpack_pack_object(&pk, *v) != 0) {
			rv = DOMINO_ENOMEM;
		}
	}
	msgpack_unpacked_destroy(&u);
	if (rv != DOMINO_OK || !changed) {
		if (sb.data != NULL)
			sodium_memzero(sb.data, sb.size);
		msgpack_sbuffer_destroy(&sb);
		return rv;
	}
	sodium_memzero(*buf, *len);
	free(*buf);
	*len = sb.size;
	*buf = msgpack_sbuffer_release(&sb);
	return DOMINO_OK;
}

int
secrets_seal_config(const struct plugin_desc *pd, char **buf, size_t *len)
{
	if (key == NULL || pd == NULL || *buf == NULL)
		return DOMINO_OK;
	return transform(pd, 1, buf, len);
}

int
secrets_open_config(char **buf, size_t *len)
{
	if (*buf == NULL)
		return DOMINO_OK;
	return transform(NULL, 0, buf, len);
}
