/* SPDX-License-Identifier: MIT */
/*
 * LMDB storage; see store.h. The next seq lives in memory on the writer
 * side (`next`), is written to meta with every commit, and is recovered at
 * open as max(meta, last key + 1) so trimming the log never reuses a seq.
 */
#include <errno.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "event.h"
#include "log.h"
#include "store.h"

#define MAP_INITIAL (1ull << 30) /* 1 GiB; grows by doubling */
#define MAX_DBS 16
#define MAX_READERS 510

struct store {
	MDB_env *env;
	MDB_dbi events, ids, by_repo, meta;
	_Atomic uint64_t last; /* last committed seq */
	uint64_t next;         /* writer thread: next seq to assign */
	pthread_rwlock_t gate; /* readers shared, map resize exclusive */
};

struct store_wtxn {
	struct store *st;
	MDB_txn *txn;
	uint64_t next;
};

struct store_reader {
	struct store *st;
	MDB_txn *txn;
	MDB_cursor *cur;
};

static void
be64(uint8_t *b, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)(v >> (56 - 8 * i));
}

static uint64_t
rd64(const void *p)
{
	const uint8_t *b = p;
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = (v << 8) | b[i];
	return v;
}

static int
map_err(int rc)
{
	switch (rc) {
	case 0:
		return DOMINO_OK;
	case MDB_NOTFOUND:
		return DOMINO_ENOTFOUND;
	case MDB_MAP_FULL:
		return DOMINO_EFULL;
	case ENOSPC:
	case EIO:
		return DOMINO_EIO;
	case ENOMEM:
		return DOMINO_ENOMEM;
	default:
		return DOMINO_ESTORE;
	}
}

static int
recover_seq(struct store *st, char *err, size_t errlen)
{
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val k, v;
	uint64_t last = 0, meta_next = 1;
	int rc;

	rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn);
	if (rc != 0)
		goto out;
	rc = mdb_cursor_open(txn, st->events, &cur);
	if (rc != 0) {
		mdb_txn_abort(txn);
		goto out;
	}
	if (mdb_cursor_get(cur, &k, &v, MDB_LAST) == 0 && k.mv_size == 8)
		last = rd64(k.mv_data);
	mdb_cursor_close(cur);
	k.mv_data = "next_seq";
	k.mv_size = 8;
	if (mdb_get(txn, st->meta, &k, &v) == 0 && v.mv_size == 8)
		meta_next = rd64(v.mv_data);
	mdb_txn_abort(txn);
	st->next = last + 1 > meta_next ? last + 1 : meta_next;
	atomic_store(&st->last, st->next - 1);
	return DOMINO_OK;
out:
	snprintf(err, errlen, "cannot read the log: %s", mdb_strerror(rc));
	return DOMINO_ESTORE;
}

int
store_open(const char *dir, struct store **out, char *err, size_t errlen)
{
	struct store *st;
	MDB_txn *txn = NULL;
	MDB_envinfo info;
	int rc;

	if ((st = calloc(1, sizeof(*st))) == NULL)
		return DOMINO_ENOMEM;
	pthread_rwlock_init(&st->gate, NULL);
	if ((rc = mdb_env_create(&st->env)) != 0)
		goto fail;
	mdb_env_set_maxdbs(st->env, MAX_DBS);
	mdb_env_set_maxreaders(st->env, MAX_READERS);
	mdb_env_set_mapsize(st->env, MAP_INITIAL);
	rc = mdb_env_open(st->env, dir, MDB_NOTLS, 0600);
	if (rc != 0)
		goto fail;
	/* Adopt a larger size a previous run grew to. */
	if (mdb_env_info(st->env, &info) == 0 && info.me_mapsize > MAP_INITIAL)
		mdb_env_set_mapsize(st->env, info.me_mapsize);
	if ((rc = mdb_txn_begin(st->env, NULL, 0, &txn)) != 0)
		goto fail;
	if ((rc = mdb_dbi_open(txn, "events", MDB_CREATE, &st->events)) != 0 ||
	    (rc = mdb_dbi_open(txn, "ids", MDB_CREATE, &st->ids)) != 0 ||
	    (rc = mdb_dbi_open(txn, "by_repo",
	        MDB_CREATE | MDB_DUPSORT | MDB_DUPFIXED, &st->by_repo)) != 0 ||
	    (rc = mdb_dbi_open(txn, "meta", MDB_CREATE, &st->meta)) != 0)
		goto fail;
	{
		MDB_val k = {6, "schema"}, v;
		uint8_t one[8];
		be64(one, 1);
		if (mdb_get(txn, st->meta, &k, &v) == MDB_NOTFOUND) {
			v.mv_size = 8;
			v.mv_data = one;
			if ((rc = mdb_put(txn, st->meta, &k, &v, 0)) != 0)
				goto fail;
		} else if (v.mv_size != 8 || rd64(v.mv_data) != 1) {
			mdb_txn_abort(txn);
			snprintf(err, errlen, "%s: unknown storage schema version "
			    "(made by a newer dominod?)", dir);
			store_close(st);
			return DOMINO_ESTORE;
		}
	}
	rc = mdb_txn_commit(txn);
	txn = NULL;
	if (rc != 0)
		goto fail;
	if (recover_seq(st, err, errlen) != DOMINO_OK) {
		store_close(st);
		return DOMINO_ESTORE;
	}
	*out = st;
	return DOMINO_OK;
fail:
	if (txn != NULL)
		mdb_txn_abort(txn);
	snprintf(err, errlen, "cannot open the store in %s: %s", dir,
	    mdb_strerror(rc));
	store_close(st);
	return rc == ENOENT || rc == EACCES ? DOMINO_EIO : DOMINO_ESTORE;
}

void
store_close(struct store *st)
{
	if (st == NULL)
		return;
	if (st->env != NULL)
		mdb_env_close(st->env);
	pthread_rwlock_destroy(&st->gate);
	free(st);
}

uint64_t
store_last_seq(const struct store *st)
{
	return atomic_load(&((struct store *)st)->last);
}

int
store_get_stats(struct store *st, struct store_stats *out)
{
	struct store_reader *r;
	MDB_stat ms;
	MDB_envinfo info;
	uint64_t seq;
	const void *d;
	size_t l;
	int rv;

	memset(out, 0, sizeof(*out));
	out->last_seq = store_last_seq(st);
	if ((rv = store_reader_open(st, &r)) != DOMINO_OK)
		return rv;
	if (mdb_stat(r->txn, st->events, &ms) == 0)
		out->events = ms.ms_entries;
	if (store_reader_seek(r, 0, &seq, &d, &l) == DOMINO_OK)
		out->first_seq = seq;
	if (mdb_env_info(st->env, &info) == 0) {
		MDB_stat es;
		out->map_size = info.me_mapsize;
		if (mdb_env_stat(st->env, &es) == 0)
			out->used = (info.me_last_pgno + 1) * (uint64_t)es.ms_psize;
	}
	store_reader_close(r);
	return DOMINO_OK;
}

int
store_wbegin(struct store *st, struct store_wtxn **out)
{
	struct store_wtxn *t;
	int rc;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return DOMINO_ENOMEM;
	t->st = st;
	t->next = st->next;
	if ((rc = mdb_txn_begin(st->env, NULL, 0, &t->txn)) != 0) {
		log_msg(LOG_ERROR, "store: begin failed err=\"%s\"",
		    mdb_strerror(rc));
		free(t);
		return map_err(rc);
	}
	*out = t;
	return DOMINO_OK;
}

int
store_append(struct store_wtxn *t, const char *source, const char *id,
    char *buf, size_t len, const char *repo, size_t repo_len, uint64_t *seq,
    int *dup)
{
	struct store *st = t->st;
	uint8_t kb[8];
	char idkey[512];
	size_t sl = strlen(source), il = strlen(id);
	MDB_val k, v;
	int rc;

	*dup = 0;
	if (sl + 1 + il > sizeof(idkey))
		il = sizeof(idkey) - sl - 1; /* ids are capped by ingest */
	memcpy(idkey, source, sl);
	idkey[sl] = '\0';
	memcpy(idkey + sl + 1, id, il);
	k.mv_data = idkey;
	k.mv_size = sl + 1 + il;
	rc = mdb_get(t->txn, st->ids, &k, &v);
	if (rc == 0 && v.mv_size == 8) {
		*seq = rd64(v.mv_data);
		*dup = 1;
		return DOMINO_OK;
	}
	if (rc != MDB_NOTFOUND)
		goto fail;
	*seq = t->next;
	be64(kb, *seq);
	v.mv_data = kb;
	v.mv_size = 8;
	if ((rc = mdb_put(t->txn, st->ids, &k, &v, 0)) != 0)
		goto fail;
	domino_event_patch_seq(buf, len, *seq);
	k.mv_data = kb;
	k.mv_size = 8;
	v.mv_data = buf;
	v.mv_size = len;
	if ((rc = mdb_put(t->txn, st->events, &k, &v, MDB_APPEND)) != 0)
		goto fail;
	if (repo_len > 0 && repo_len < 511) {
		k.mv_data = (void *)repo;
		k.mv_size = repo_len;
		v.mv_data = kb;
		v.mv_size = 8;
		if ((rc = mdb_put(t->txn, st->by_repo, &k, &v, 0)) != 0)
			goto fail;
	}
	t->next++;
	return DOMINO_OK;
fail:
	if (rc != MDB_MAP_FULL)
		log_msg(LOG_ERROR, "store: append failed err=\"%s\"",
		    mdb_strerror(rc));
	return map_err(rc);
}

int
store_commit(struct store_wtxn *t)
{
	struct store *st = t->st;
	uint8_t nb[8];
	MDB_val k = {8, "next_seq"}, v = {8, nb};
	int rc = 0;

	if (t->next != st->next) {
		be64(nb, t->next);
		rc = mdb_put(t->txn, st->meta, &k, &v, 0);
	}
	if (rc != 0) {
		mdb_txn_abort(t->txn);
	} else {
		rc = mdb_txn_commit(t->txn);
	}
	if (rc == 0) {
		st->next = t->next;
		atomic_store(&st->last, t->next - 1);
	} else if (rc != MDB_MAP_FULL) {
		log_msg(LOG_ERROR, "store: commit failed err=\"%s\"",
		    mdb_strerror(rc));
	}
	free(t);
	return map_err(rc);
}

void
store_abort(struct store_wtxn *t)
{
	if (t == NULL)
		return;
	mdb_txn_abort(t->txn);
	free(t);
}

int
store_grow(struct store *st)
{
	MDB_envinfo info;
	int rc;

	if ((rc = mdb_env_info(st->env, &info)) != 0)
		return map_err(rc);
	pthread_rwlock_wrlock(&st->gate);
	rc = mdb_env_set_mapsize(st->env, info.me_mapsize * 2);
	pthread_rwlock_unlock(&st->gate);
	if (rc != 0) {
		log_msg(LOG_ERROR, "store: cannot grow the map err=\"%s\"",
		    mdb_strerror(rc));
		return map_err(rc);
	}
	log_msg(LOG_INFO, "store: map grown size=%llu",
	    (unsigned long long)info.me_mapsize * 2);
	return DOMINO_OK;
}

int
store_reader_open(struct store *st, struct store_reader **out)
{
	struct store_reader *r;
	int rc;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return DOMINO_ENOMEM;
	r->st = st;
	pthread_rwlock_rdlock(&st->gate);
	rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &r->txn);
	if (rc == 0)
		rc = mdb_cursor_open(r->txn, st->events, &r->cur);
	if (rc != 0) {
		if (r->txn != NULL)
			mdb_txn_abort(r->txn);
		pthread_rwlock_unlock(&st->gate);
		free(r);
		log_msg(LOG_ERROR, "store: read txn failed err=\"%s\"",
		    mdb_strerror(rc));
		return map_err(rc);
	}
	*out = r;
	return DOMINO_OK;
}

void
store_reader_close(struct store_reader *r)
{
	if (r == NULL)
		return;
	mdb_cursor_close(r->cur);
	mdb_txn_abort(r->txn);
	pthread_rwlock_unlock(&r->st->gate);
	free(r);
}

static int
reader_get(struct store_reader *r, MDB_val *k, MDB_cursor_op op,
    uint64_t *seq, const void **data, size_t *len)
{
	MDB_val v;
	int rc = mdb_cursor_get(r->cur, k, &v, op);

	if (rc != 0)
		return map_err(rc);
	if (k->mv_size != 8)
		return DOMINO_ESTORE;
	*seq = rd64(k->mv_data);
	*data = v.mv_data;
	*len = v.mv_size;
	return DOMINO_OK;
}

int
store_reader_seek(struct store_reader *r, uint64_t from, uint64_t *seq,
    const void **data, size_t *len)
{
	uint8_t kb[8];
	MDB_val k = {8, kb};

	be64(kb, from);
	return reader_get(r, &k, MDB_SET_RANGE, seq, data, len);
}

int
store_reader_next(struct store_reader *r, uint64_t *seq, const void **data,
    size_t *len)
{
	MDB_val k;

	return reader_get(r, &k, MDB_NEXT, seq, data, len);
}

int
store_reader_find_id(struct store_reader *r, const char *source,
    const char *id, uint64_t *seq)
{
	char idkey[512];
	size_t sl = strlen(source), il = strlen(id);
	MDB_val k, v;
	int rc;

	if (sl + 1 + il > sizeof(idkey))
		il = sizeof(idkey) - sl - 1;
	memcpy(idkey, source, sl);
	idkey[sl] = '\0';
	memcpy(idkey + sl + 1, id, il);
	k.mv_data = idkey;
	k.mv_size = sl + 1 + il;
	rc = mdb_get(r->txn, r->st->ids, &k, &v);
	if (rc != 0)
		return map_err(rc);
	if (v.mv_size != 8)
		return DOMINO_ESTORE;
	*seq = rd64(v.mv_data);
	return DOMINO_OK;
}
