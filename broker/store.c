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
	MDB_dbi events, ids, by_repo, meta, listeners, deps, deliveries, due, results,
	    cursors;
	_Atomic uint64_t last; /* last committed seq */
	uint64_t next;         /* writer thread: next seq to assign */
	pthread_rwlock_t gate; /* readers shared, map resize exclusive */
};

/* Both transaction kinds start with this, so either can be viewed as one. */
struct store_txn {
	struct store *st;
	MDB_txn *txn;
};

struct store_wtxn {
	struct store_txn v;
	uint64_t next;
};

struct store_reader {
	struct store_txn v;
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
	    (rc = mdb_dbi_open(txn, "meta", MDB_CREATE, &st->meta)) != 0 ||
	    (rc = mdb_dbi_open(txn, "listeners", MDB_CREATE, &st->listeners)) != 0 ||
	    (rc = mdb_dbi_open(txn, "deps", MDB_CREATE | MDB_DUPSORT,
	        &st->deps)) != 0 ||
	    (rc = mdb_dbi_open(txn, "deliveries", MDB_CREATE,
	        &st->deliveries)) != 0 ||
	    (rc = mdb_dbi_open(txn, "due", MDB_CREATE, &st->due)) != 0 ||
	    (rc = mdb_dbi_open(txn, "results", MDB_CREATE, &st->results)) != 0 ||
	    (rc = mdb_dbi_open(txn, "cursors", MDB_CREATE, &st->cursors)) != 0)
		goto fail;
	{
		/* A new store starts at the current schema; an older one is
		 * upgraded by its owner (registry_reindex). */
		MDB_val k = {6, "schema"}, v;
		uint8_t cur[8];
		be64(cur, STORE_SCHEMA);
		if (mdb_get(txn, st->meta, &k, &v) == MDB_NOTFOUND) {
			v.mv_size = 8;
			v.mv_data = cur;
			if ((rc = mdb_put(txn, st->meta, &k, &v, 0)) != 0)
				goto fail;
		} else if (v.mv_size != 8 || rd64(v.mv_data) < 1 ||
		    rd64(v.mv_data) > STORE_SCHEMA) {
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
	if (mdb_stat(r->v.txn, st->events, &ms) == 0)
		out->events = ms.ms_entries;
	if (store_reader_seek(r, 0, &seq, &d, &l) == DOMINO_OK)
		out->first_seq = seq;
	{
		MDB_val k = {13, "trimmed_below"}, v;
		if (mdb_get(r->v.txn, st->meta, &k, &v) == 0 && v.mv_size == 8)
			out->trimmed_before = rd64(v.mv_data);
	}
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
	t->v.st = st;
	t->next = st->next;
	if ((rc = mdb_txn_begin(st->env, NULL, 0, &t->v.txn)) != 0) {
		log_msg(LOG_ERROR, "store: begin failed err=\"%s\"",
		    mdb_strerror(rc));
		free(t);
		return map_err(rc);
	}
	*out = t;
	return DOMINO_OK;
}

#define ID_KEY_MAX 512

/*
 * The ids key `source NUL id` into kb (ID_KEY_MAX bytes). An over-long
 * id is refused rather than truncated, so two ids never merge (ingest caps
 * ids at PREPARE_ID_MAX, far below this).
 */
static int
id_key(char *kb, const char *source, const char *id, MDB_val *k)
{
	size_t sl = strlen(source), il = strlen(id);

	if (sl + 1 + il > ID_KEY_MAX)
		return DOMINO_EINVAL;
	memcpy(kb, source, sl);
	kb[sl] = '\0';
	memcpy(kb + sl + 1, id, il);
	k->mv_data = kb;
	k->mv_size = sl + 1 + il;
	return DOMINO_OK;
}

int
store_append(struct store_wtxn *t, const char *source, const char *id,
    char *buf, size_t len, const char *repo, size_t repo_len, uint64_t *seq,
    int *dup)
{
	struct store *st = t->v.st;
	uint8_t kb[8];
	char idkey[ID_KEY_MAX];
	MDB_val k, v;
	int rc;

	*dup = 0;
	if (id_key(idkey, source, id, &k) != DOMINO_OK)
		return DOMINO_EINVAL;
	rc = mdb_get(t->v.txn, st->ids, &k, &v);
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
	if ((rc = mdb_put(t->v.txn, st->ids, &k, &v, 0)) != 0)
		goto fail;
	domino_event_patch_seq(buf, len, *seq);
	k.mv_data = kb;
	k.mv_size = 8;
	v.mv_data = buf;
	v.mv_size = len;
	if ((rc = mdb_put(t->v.txn, st->events, &k, &v, MDB_APPEND)) != 0)
		goto fail;
	if (repo_len > 0 && repo_len < 511) {
		k.mv_data = (void *)repo;
		k.mv_size = repo_len;
		v.mv_data = kb;
		v.mv_size = 8;
		if ((rc = mdb_put(t->v.txn, st->by_repo, &k, &v, 0)) != 0)
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
	struct store *st = t->v.st;
	uint8_t nb[8];
	MDB_val k = {8, "next_seq"}, v = {8, nb};
	int rc = 0;

	if (t->next != st->next) {
		be64(nb, t->next);
		rc = mdb_put(t->v.txn, st->meta, &k, &v, 0);
	}
	if (rc != 0) {
		mdb_txn_abort(t->v.txn);
	} else {
		rc = mdb_txn_commit(t->v.txn);
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
	mdb_txn_abort(t->v.txn);
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
	r->v.st = st;
	pthread_rwlock_rdlock(&st->gate);
	rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &r->v.txn);
	if (rc == 0)
		rc = mdb_cursor_open(r->v.txn, st->events, &r->cur);
	if (rc != 0) {
		if (r->v.txn != NULL)
			mdb_txn_abort(r->v.txn);
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
	mdb_txn_abort(r->v.txn);
	pthread_rwlock_unlock(&r->v.st->gate);
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
	char idkey[ID_KEY_MAX];
	MDB_val k, v;
	int rc;

	if (id_key(idkey, source, id, &k) != DOMINO_OK)
		return DOMINO_ENOTFOUND;
	rc = mdb_get(r->v.txn, r->v.st->ids, &k, &v);
	if (rc != 0)
		return map_err(rc);
	if (v.mv_size != 8)
		return DOMINO_ESTORE;
	*seq = rd64(v.mv_data);
	return DOMINO_OK;
}

struct store_txn *
store_wtxn_view(struct store_wtxn *t)
{
	return &t->v;
}

struct store_txn *
store_reader_view(struct store_reader *r)
{
	return &r->v;
}

int
store_listener_get(struct store_txn *v, const char *name, const void **data,
    size_t *len)
{
	MDB_val k = {strlen(name), (void *)name}, d;
	int rc = mdb_get(v->txn, v->st->listeners, &k, &d);

	if (rc != 0)
		return map_err(rc);
	*data = d.mv_data;
	*len = d.mv_size;
	return DOMINO_OK;
}

int
store_listener_each(struct store_txn *v,
    int (*cb)(void *arg, const char *name, size_t nlen, const void *data,
    size_t len), void *arg)
{
	MDB_cursor *cur;
	MDB_val k, d;
	int rc;

	if ((rc = mdb_cursor_open(v->txn, v->st->listeners, &cur)) != 0)
		return map_err(rc);
	for (rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST); rc == 0;
	    rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT))
		if (cb(arg, k.mv_data, k.mv_size, d.mv_data, d.mv_size) != 0)
			break;
	mdb_cursor_close(cur);
	return rc == 0 || rc == MDB_NOTFOUND ? DOMINO_OK : map_err(rc);
}

int
store_listener_put(struct store_wtxn *t, const char *name, const void *data,
    size_t len)
{
	MDB_val k = {strlen(name), (void *)name}, d = {len, (void *)data};

	return map_err(mdb_put(t->v.txn, t->v.st->listeners, &k, &d, 0));
}

int
store_listener_del(struct store_wtxn *t, const char *name)
{
	MDB_val k = {strlen(name), (void *)name};
	int rc = mdb_del(t->v.txn, t->v.st->listeners, &k, NULL);

	return rc == MDB_NOTFOUND ? DOMINO_ENOTFOUND : map_err(rc);
}

/* A big-endian uint64 value under k in dbi: the schema, a cursor. */
static int
get_u64(struct store_txn *v, MDB_dbi dbi, MDB_val *k, uint64_t *out)
{
	MDB_val d;
	int rc = mdb_get(v->txn, dbi, k, &d);

	if (rc != 0)
		return map_err(rc);
	if (d.mv_size != 8)
		return DOMINO_ESTORE;
	*out = rd64(d.mv_data);
	return DOMINO_OK;
}

static int
put_u64(struct store_wtxn *t, MDB_dbi dbi, MDB_val *k, uint64_t val)
{
	uint8_t b[8];
	MDB_val d = {8, b};

	be64(b, val);
	return map_err(mdb_put(t->v.txn, dbi, k, &d, 0));
}

int
store_schema(struct store_txn *v, uint64_t *out)
{
	MDB_val k = {6, "schema"};

	return get_u64(v, v->st->meta, &k, out);
}

int
store_set_schema(struct store_wtxn *t, uint64_t schema)
{
	MDB_val k = {6, "schema"};

	return put_u64(t, t->v.st->meta, &k, schema);
}

#define DEP_KEY_MAX 480
#define DEP_VAL_MAX 511 /* LMDB's limit for a dupsort value */

static int
dep_key(const char *pattern, int glob, char *kb, MDB_val *k)
{
	size_t pl = strlen(pattern);

	if (pl + 1 > DEP_KEY_MAX)
		return DOMINO_EINVAL;
	if (glob) {
		kb[0] = 0x01;
		memcpy(kb + 1, pattern, pl);
		k->mv_size = pl + 1;
	} else {
		memcpy(kb, pattern, pl);
		k->mv_size = pl;
	}
	k->mv_data = kb;
	return DOMINO_OK;
}

/* name NUL idx (2 bytes, big-endian): the head every value starts with. */
static size_t
dep_head(const char *name, unsigned idx, char *vb)
{
	size_t nl = strlen(name);

	memcpy(vb, name, nl);
	vb[nl] = '\0';
	vb[nl + 1] = (char)(idx >> 8);
	vb[nl + 2] = (char)idx;
	return nl + 3;
}

int
store_dep_put(struct store_wtxn *t, const char *pattern, int glob,
    const char *name, unsigned idx, const void *rec, size_t rec_len)
{
	char kb[DEP_KEY_MAX], vb[DEP_VAL_MAX];
	MDB_val k, v;
	int rc;

	if (dep_key(pattern, glob, kb, &k) != DOMINO_OK ||
	    strlen(name) + 3 > DEP_KEY_MAX)
		return DOMINO_EINVAL;
	v.mv_data = vb;
	v.mv_size = dep_head(name, idx, vb);
	if (rec_len > 0 && v.mv_size + rec_len <= sizeof(vb)) {
		memcpy(vb + v.mv_size, rec, rec_len);
		v.mv_size += rec_len;
	}
	rc = mdb_put(t->v.txn, t->v.st->deps, &k, &v, MDB_NODUPDATA);
	return rc == MDB_KEYEXIST ? DOMINO_OK : map_err(rc);
}

int
store_dep_del(struct store_wtxn *t, const char *pattern, int glob,
    const char *name, unsigned idx)
{
	char kb[DEP_KEY_MAX], vb[DEP_KEY_MAX];
	MDB_cursor *cur;
	MDB_val k, v;
	size_t hl;
	int rc;

	if (dep_key(pattern, glob, kb, &k) != DOMINO_OK ||
	    strlen(name) + 3 > DEP_KEY_MAX)
		return DOMINO_EINVAL;
	hl = dep_head(name, idx, vb);
	if ((rc = mdb_cursor_open(t->v.txn, t->v.st->deps, &cur)) != 0)
		return map_err(rc);
	/* Values sort by bytes, so a value with this head, whatever record
	 * it carries, is the first one at or after the bare head. */
	for (size_t kl = k.mv_size;;) {
		k.mv_data = kb;
		k.mv_size = kl;
		v.mv_data = vb;
		v.mv_size = hl;
		if ((rc = mdb_cursor_get(cur, &k, &v, MDB_GET_BOTH_RANGE)) != 0)
			break;
		if (v.mv_size < hl || memcmp(v.mv_data, vb, hl) != 0)
			break;
		if ((rc = mdb_cursor_del(cur, 0)) != 0)
			break;
	}
	mdb_cursor_close(cur);
	return rc == 0 || rc == MDB_NOTFOUND ? DOMINO_OK : map_err(rc);
}

/* Split a deps value into name, index and match record. */
static int
dep_val(const MDB_val *v, struct store_dep *d)
{
	const char *p = v->mv_data, *nul = memchr(p, '\0', v->mv_size);
	size_t at;

	if (nul == NULL || (at = (size_t)(nul - p)) + 3 > v->mv_size)
		return -1;
	d->name = p;
	d->idx = ((unsigned)(uint8_t)p[at + 1] << 8) | (uint8_t)p[at + 2];
	d->rec = p + at + 3;
	d->rec_len = v->mv_size - at - 3;
	return 0;
}

int
store_dep_exact(struct store_txn *v, const char *repo,
    int (*cb)(void *arg, const struct store_dep *d), void *arg)
{
	MDB_cursor *cur;
	MDB_val k = {strlen(repo), (void *)repo}, val;
	struct store_dep d = {repo, k.mv_size, NULL, 0, NULL, 0};
	int rc;

	if (k.mv_size == 0)
		return DOMINO_OK;
	if ((rc = mdb_cursor_open(v->txn, v->st->deps, &cur)) != 0)
		return map_err(rc);
	for (rc = mdb_cursor_get(cur, &k, &val, MDB_SET); rc == 0;
	    rc = mdb_cursor_get(cur, &k, &val, MDB_NEXT_DUP))
		if (dep_val(&val, &d) == 0 && cb(arg, &d) != 0)
			break;
	mdb_cursor_close(cur);
	return rc == 0 || rc == MDB_NOTFOUND ? DOMINO_OK : map_err(rc);
}

int
store_dep_globs(struct store_txn *v,
    int (*cb)(void *arg, const struct store_dep *d), void *arg)
{
	MDB_cursor *cur;
	MDB_val k = {1, "\x01"}, val;
	struct store_dep d;
	int rc, stop = 0;

	if ((rc = mdb_cursor_open(v->txn, v->st->deps, &cur)) != 0)
		return map_err(rc);
	for (rc = mdb_cursor_get(cur, &k, &val, MDB_SET_RANGE); rc == 0 && !stop;
	    rc = mdb_cursor_get(cur, &k, &val, MDB_NEXT)) {
		if (k.mv_size < 2 || ((const char *)k.mv_data)[0] != 0x01)
			break;
		d.pattern = (const char *)k.mv_data + 1;
		d.pattern_len = k.mv_size - 1;
		if (dep_val(&val, &d) == 0)
			stop = cb(arg, &d);
	}
	mdb_cursor_close(cur);
	return rc == 0 || rc == MDB_NOTFOUND ? DOMINO_OK : map_err(rc);
}

static size_t
delivery_key(char *kb, const char *listener, uint64_t seq)
{
	size_t nl = strlen(listener);

	memcpy(kb, listener, nl);
	kb[nl] = '\0';
	be64((uint8_t *)kb + nl + 1, seq);
	return nl + 9;
}

int
store_delivery_put(struct store_wtxn *t, const char *listener, uint64_t seq,
    const void *data, size_t len, uint64_t due_ns)
{
	char kb[DEP_KEY_MAX + 16], dk[DEP_KEY_MAX + 24];
	MDB_val k, v = {len, (void *)data}, e = {0, ""};
	size_t kl;
	int rc;

	if (strlen(listener) > DEP_KEY_MAX)
		return DOMINO_EINVAL;
	kl = delivery_key(kb, listener, seq);
	k.mv_data = kb;
	k.mv_size = kl;
	if ((rc = mdb_put(t->v.txn, t->v.st->deliveries, &k, &v, 0)) != 0)
		return map_err(rc);
	if (due_ns == 0)
		return DOMINO_OK;
	be64((uint8_t *)dk, due_ns);
	memcpy(dk + 8, kb, kl);
	k.mv_data = dk;
	k.mv_size = kl + 8;
	return map_err(mdb_put(t->v.txn, t->v.st->due, &k, &e, 0));
}

int
store_delivery_del_listener(struct store_wtxn *t, const char *listener,
    uint64_t *count)
{
	MDB_cursor *cur, *dc;
	size_t nl = strlen(listener);
	MDB_val k = {nl + 1, (void *)listener}, d;
	int rc;

	*count = 0;
	if ((rc = mdb_cursor_open(t->v.txn, t->v.st->deliveries, &cur)) != 0)
		return map_err(rc);
	for (rc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE); rc == 0;
	    rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
		if (k.mv_size != nl + 9 || memcmp(k.mv_data, listener, nl + 1) != 0)
			break;
		if ((rc = mdb_cursor_del(cur, 0)) != 0)
			break;
		(*count)++;
	}
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return map_err(rc);
	/* The due index is ordered by time: walk it and drop this listener's. */
	if ((rc = mdb_cursor_open(t->v.txn, t->v.st->due, &dc)) != 0)
		return map_err(rc);
	for (rc = mdb_cursor_get(dc, &k, &d, MDB_FIRST); rc == 0;
	    rc = mdb_cursor_get(dc, &k, &d, MDB_NEXT)) {
		if (k.mv_size == nl + 17 &&
		    memcmp((char *)k.mv_data + 8, listener, nl + 1) == 0 &&
		    (rc = mdb_cursor_del(dc, 0)) != 0)
			break;
	}
	mdb_cursor_close(dc);
	return rc == 0 || rc == MDB_NOTFOUND ? DOMINO_OK : map_err(rc);
}

int
store_delivery_each(struct store_txn *v, const char *listener, uint64_t from,
    int (*cb)(void *arg, const char *listener, uint64_t seq, const void *data,
    size_t len), void *arg)
{
	char kb[DEP_KEY_MAX + 16];
	MDB_cursor *cur;
	MDB_val k, d;
	size_t nl = listener ? strlen(listener) : 0;
	int rc;

	if (nl > DEP_KEY_MAX)
		return DOMINO_EINVAL;
	if ((rc = mdb_cursor_open(v->txn, v->st->deliveries, &cur)) != 0)
		return map_err(rc);
	if (listener != NULL) {
		k.mv_data = kb;
		k.mv_size = delivery_key(kb, listener, from);
		rc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE);
	} else {
		rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST);
	}
	for (; rc == 0; rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
		const char *name = k.mv_data;
		uint64_t seq;
		if (k.mv_size < 10 || name[k.mv_size - 9] != '\0')
			continue;
		if (listener != NULL && (k.mv_size != nl + 9 ||
		    memcmp(name, listener, nl) != 0))
			break;
		seq = rd64(name + k.mv_size - 8);
		if (seq < from)
			continue;
		if (cb(arg, name, seq, d.mv_data, d.mv_size) != 0)
			break;
	}
	mdb_cursor_close(cur);
	return rc == 0 || rc == MDB_NOTFOUND ? DOMINO_OK : map_err(rc);
}

int
store_delivery_get(struct store_txn *v, const char *listener, uint64_t seq,
    const void **data, size_t *len)
{
	char kb[DEP_KEY_MAX + 16];
	MDB_val k, d;
	int rc;

	if (strlen(listener) > DEP_KEY_MAX)
		return DOMINO_ENOTFOUND;
	k.mv_data = kb;
	k.mv_size = delivery_key(kb, listener, seq);
	if ((rc = mdb_get(v->txn, v->st->deliveries, &k, &d)) != 0)
		return map_err(rc);
	*data = d.mv_data;
	*len = d.mv_size;
	return DOMINO_OK;
}

static int
due_key(char *dk, uint64_t due_ns, const char *listener, uint64_t seq,
    MDB_val *k)
{
	if (strlen(listener) > DEP_KEY_MAX)
		return DOMINO_EINVAL;
	be64((uint8_t *)dk, due_ns);
	k->mv_size = 8 + delivery_key(dk + 8, listener, seq);
	k->mv_data = dk;
	return DOMINO_OK;
}

int
store_due_put(struct store_wtxn *t, uint64_t due_ns, const char *listener,
    uint64_t seq)
{
	char dk[DEP_KEY_MAX + 24];
	MDB_val k, e = {0, ""};

	if (due_key(dk, due_ns, listener, seq, &k) != DOMINO_OK)
		return DOMINO_EINVAL;
	return map_err(mdb_put(t->v.txn, t->v.st->due, &k, &e, 0));
}

int
store_due_del(struct store_wtxn *t, uint64_t due_ns, const char *listener,
    uint64_t seq)
{
	char dk[DEP_KEY_MAX + 24];
	MDB_val k;
	int rc;

	if (due_key(dk, due_ns, listener, seq, &k) != DOMINO_OK)
		return DOMINO_EINVAL;
	rc = mdb_del(t->v.txn, t->v.st->due, &k, NULL);
	return rc == MDB_NOTFOUND ? DOMINO_OK : map_err(rc);
}

int
store_due_each(struct store_txn *v,
    int (*cb)(void *arg, uint64_t due_ns, const char *listener, uint64_t seq),
    void *arg)
{
	MDB_cursor *cur;
	MDB_val k, d;
	int rc;

	if ((rc = mdb_cursor_open(v->txn, v->st->due, &cur)) != 0)
		return map_err(rc);
	for (rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST); rc == 0;
	    rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
		const char *p = k.mv_data;
		if (k.mv_size < 18 || p[k.mv_size - 9] != '\0')
			continue;
		if (cb(arg, rd64(p), p + 8, rd64(p + k.mv_size - 8)) != 0)
			break;
	}
	mdb_cursor_close(cur);
	return rc == 0 || rc == MDB_NOTFOUND ? DOMINO_OK : map_err(rc);
}

int
store_event_get(struct store_txn *v, uint64_t seq, const void **data,
    size_t *len)
{
	uint8_t kb[8];
	MDB_val k = {8, kb}, d;
	int rc;

	be64(kb, seq);
	if ((rc = mdb_get(v->txn, v->st->events, &k, &d)) != 0)
		return map_err(rc);
	*data = d.mv_data;
	*len = d.mv_size;
	return DOMINO_OK;
}

int
store_result_put(struct store_wtxn *t, const char *listener, uint64_t seq,
    const void *data, size_t len)
{
	char kb[DEP_KEY_MAX + 16];
	MDB_val k, d = {len, (void *)data};

	if (strlen(listener) > DEP_KEY_MAX)
		return DOMINO_EINVAL;
	k.mv_data = kb;
	k.mv_size = delivery_key(kb, listener, seq);
	return map_err(mdb_put(t->v.txn, t->v.st->results, &k, &d, 0));
}

int
store_result_get(struct store_txn *v, const char *listener, uint64_t seq,
    const void **data, size_t *len)
{
	char kb[DEP_KEY_MAX + 16];
	MDB_val k, d;
	int rc;

	if (strlen(listener) > DEP_KEY_MAX)
		return DOMINO_ENOTFOUND;
	k.mv_data = kb;
	k.mv_size = delivery_key(kb, listener, seq);
	if ((rc = mdb_get(v->txn, v->st->results, &k, &d)) != 0)
		return map_err(rc);
	*data = d.mv_data;
	*len = d.mv_size;
	return DOMINO_OK;
}

int
store_result_each(struct store_txn *v, const char *listener,
    int (*cb)(void *arg, const char *listener, uint64_t seq, const void *data,
    size_t len), void *arg)
{
	char kb[DEP_KEY_MAX + 16];
	MDB_cursor *cur;
	MDB_val k, d;
	size_t nl = strlen(listener);
	int rc;

	if (nl > DEP_KEY_MAX)
		return DOMINO_EINVAL;
	if ((rc = mdb_cursor_open(v->txn, v->st->results, &cur)) != 0)
		return map_err(rc);
	k.mv_data = kb;
	k.mv_size = delivery_key(kb, listener, 0);
	for (rc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE); rc == 0;
	    rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
		if (k.mv_size != nl + 9 || memcmp(k.mv_data, listener, nl + 1) != 0)
			break;
		if (cb(arg, listener, rd64((char *)k.mv_data + nl + 1), d.mv_data,
		    d.mv_size) != 0)
			break;
	}
	mdb_cursor_close(cur);
	return rc == 0 || rc == MDB_NOTFOUND ? DOMINO_OK : map_err(rc);
}

int
store_cursor_get(struct store_txn *v, const char *name, uint64_t *seq)
{
	MDB_val k = {strlen(name), (void *)name};

	return get_u64(v, v->st->cursors, &k, seq);
}

int
store_cursor_put(struct store_wtxn *t, const char *name, uint64_t seq)
{
	MDB_val k = {strlen(name), (void *)name};

	return put_u64(t, t->v.st->cursors, &k, seq);
}

int
store_cursor_del(struct store_wtxn *t, const char *name)
{
	MDB_val k = {strlen(name), (void *)name};
	int rc = mdb_del(t->v.txn, t->v.st->cursors, &k, NULL);

	return rc == MDB_NOTFOUND ? DOMINO_ENOTFOUND : map_err(rc);
}

int
store_cursor_each(struct store_txn *v,
    int (*cb)(void *arg, const char *name, size_t nlen, uint64_t seq),
    void *arg)
{
	MDB_cursor *cur;
	MDB_val k, d;
	int rc;

	if ((rc = mdb_cursor_open(v->txn, v->st->cursors, &cur)) != 0)
		return map_err(rc);
	for (rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST); rc == 0;
	    rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT))
		if (d.mv_size == 8 && cb(arg, k.mv_data, k.mv_size, rd64(d.mv_data)))
			break;
	mdb_cursor_close(cur);
	return rc == 0 || rc == MDB_NOTFOUND ? DOMINO_OK : map_err(rc);
}

/* Drop the ids and by_repo entries of one stored event. */
static int
unindex(struct store_wtxn *t, uint64_t seq, const void *data, size_t len)
{
	struct domino_event ev;
	char idkey[ID_KEY_MAX];
	uint8_t kb[8];
	MDB_val k, v;
	int rc = 0;

	if (domino_event_decode(data, len, &ev) != DOMINO_OK)
		return DOMINO_OK; /* nothing indexed can be found for it */
	if (ev.source != NULL && ev.id != NULL &&
	    id_key(idkey, ev.source, ev.id, &k) == DOMINO_OK)
		rc = mdb_del(t->v.txn, t->v.st->ids, &k, NULL);
	if ((rc == 0 || rc == MDB_NOTFOUND) && ev.repo != NULL && ev.repo[0] &&
	    strlen(ev.repo) < 511) {
		be64(kb, seq);
		k.mv_data = ev.repo;
		k.mv_size = strlen(ev.repo);
		v.mv_data = kb;
		v.mv_size = 8;
		rc = mdb_del(t->v.txn, t->v.st->by_repo, &k, &v);
	}
	domino_event_clear(&ev);
	return rc == 0 || rc == MDB_NOTFOUND ? DOMINO_OK : map_err(rc);
}

int
store_trim(struct store_wtxn *t, uint64_t before, uint64_t max,
    uint64_t *trimmed, uint64_t *bytes)
{
	MDB_cursor *cur;
	MDB_val k, d;
	uint64_t last = 0;
	int rc, rv = DOMINO_OK;

	*trimmed = *bytes = 0;
	if ((rc = mdb_cursor_open(t->v.txn, t->v.st->events, &cur)) != 0)
		return map_err(rc);
	for (rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST); rc == 0 && *trimmed < max;
	    rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
		uint64_t seq;
		if (k.mv_size != 8)
			continue;
		seq = rd64(k.mv_data);
		if (seq >= before)
			break;
		if ((rv = unindex(t, seq, d.mv_data, d.mv_size)) != DOMINO_OK)
			break;
		*bytes += d.mv_size;
		if ((rc = mdb_cursor_del(cur, 0)) != 0)
			break;
		(*trimmed)++;
		last = seq;
	}
	mdb_cursor_close(cur);
	if (rv != DOMINO_OK)
		return rv;
	if (rc != 0 && rc != MDB_NOTFOUND)
		return map_err(rc);
	if (*trimmed > 0) {
		uint8_t b[8];
		MDB_val mk = {13, "trimmed_below"}, mv = {8, b};
		be64(b, last + 1);
		rc = mdb_put(t->v.txn, t->v.st->meta, &mk, &mv, 0);
	}
	return map_err(rc == MDB_NOTFOUND ? 0 : rc);
}

int
store_oldest_time(struct store_txn *v, int64_t *time_ns, uint64_t *seq)
{
	MDB_cursor *cur;
	MDB_val k, d;
	int rc;

	*time_ns = 0;
	*seq = 0;
	if ((rc = mdb_cursor_open(v->txn, v->st->events, &cur)) != 0)
		return map_err(rc);
	rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST);
	if (rc == 0 && k.mv_size == 8) {
		struct domino_event ev;
		*seq = rd64(k.mv_data);
		if (domino_event_decode(d.mv_data, d.mv_size, &ev) == DOMINO_OK) {
			*time_ns = ev.time;
			domino_event_clear(&ev);
		}
	}
	mdb_cursor_close(cur);
	return rc == 0 || rc == MDB_NOTFOUND ? DOMINO_OK : map_err(rc);
}

uint64_t
store_events_bytes(struct store_txn *v)
{
	MDB_stat ms;

	if (mdb_stat(v->txn, v->st->events, &ms) != 0)
		return 0;
	return (uint64_t)ms.ms_psize *
	    (ms.ms_branch_pages + ms.ms_leaf_pages + ms.ms_overflow_pages);
}

uint64_t
store_events_count(struct store_txn *v)
{
	MDB_stat ms;

	return mdb_stat(v->txn, v->st->events, &ms) == 0 ? ms.ms_entries : 0;
}

int
store_seq_after_time(struct store_txn *v, int64_t cutoff_ns, uint64_t max_scan,
    uint64_t *before)
{
	MDB_cursor *cur;
	MDB_val k, d;
	uint64_t n = 0;
	int rc;

	*before = 0;
	if ((rc = mdb_cursor_open(v->txn, v->st->events, &cur)) != 0)
		return map_err(rc);
	for (rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST); rc == 0 && n < max_scan;
	    rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT), n++) {
		struct domino_event ev;
		int old = 0;
		if (k.mv_size != 8)
			continue;
		if (domino_event_decode(d.mv_data, d.mv_size, &ev) == DOMINO_OK) {
			old = ev.time < cutoff_ns;
			domino_event_clear(&ev);
		}
		if (!old)
			break;
		*before = rd64(k.mv_data) + 1;
	}
	mdb_cursor_close(cur);
	return rc == 0 || rc == MDB_NOTFOUND ? DOMINO_OK : map_err(rc);
}

uint64_t
store_due_count(struct store_txn *v)
{
	MDB_stat ms;

	return mdb_stat(v->txn, v->st->due, &ms) == 0 ? ms.ms_entries : 0;
}

uint64_t
store_listener_count(struct store_txn *v)
{
	MDB_stat ms;

	return mdb_stat(v->txn, v->st->listeners, &ms) == 0 ? ms.ms_entries : 0;
}

int
store_result_del_listener(struct store_wtxn *t, const char *listener)
{
	char kb[DEP_KEY_MAX + 16];
	MDB_cursor *cur;
	MDB_val k, d;
	size_t nl = strlen(listener);
	int rc;

	if (nl > DEP_KEY_MAX)
		return DOMINO_EINVAL;
	if ((rc = mdb_cursor_open(t->v.txn, t->v.st->results, &cur)) != 0)
		return map_err(rc);
	k.mv_data = kb;
	k.mv_size = delivery_key(kb, listener, 0);
	for (rc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE); rc == 0;
	    rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
		if (k.mv_size != nl + 9 || memcmp(k.mv_data, listener, nl + 1) != 0)
			break;
		if ((rc = mdb_cursor_del(cur, 0)) != 0)
			break;
	}
	mdb_cursor_close(cur);
	return rc == 0 || rc == MDB_NOTFOUND ? DOMINO_OK : map_err(rc);
}
