/* SPDX-License-Identifier: MIT */
/*
 * The one error enum of domino, shared by the broker, libdomino and the CLI.
 * Codes are appended, never renumbered: scripts and the wire protocol's
 * stable code strings depend on them. Foreign codes (nng, LMDB, curl) are
 * converted at the edge of the module that calls those libraries.
 */
#ifndef DOMINO_ERR_H
#define DOMINO_ERR_H

enum domino_err {
	DOMINO_OK = 0,
	DOMINO_ENOMEM,    /* out of memory */
	DOMINO_EINVAL,    /* invalid argument or malformed input */
	DOMINO_ETRUNC,    /* input ends in the middle of a value */
	DOMINO_ETOOBIG,   /* input over a size, count or depth limit */
	DOMINO_EPROTO,    /* well-formed but not what the protocol says */
	DOMINO_ENOTFOUND, /* no such thing */
	DOMINO_EUNAUTH,   /* missing or wrong token or signature */
	DOMINO_ECONFLICT, /* exists already / state does not allow it */
	DOMINO_EUNAVAIL,  /* shutting down, queue full, not ready */
	DOMINO_ETIMEDOUT, /* no answer in time */
	DOMINO_ECLOSED,   /* handle closed */
	DOMINO_ESTORE,    /* storage (LMDB) failure */
	DOMINO_EIO,       /* file or system call failure */
	DOMINO_ETRANSPORT, /* connection failure (nng, curl) */
	DOMINO_EREMOTE,   /* the broker answered with an error it did not name */
	DOMINO_EINTERNAL, /* a bug: an impossible state was reached */
	DOMINO_EFULL,     /* storage map or queue full */
	DOMINO_ERR_COUNT  /* keep last */
};

/* A sentence for a person. Never NULL, also for unknown codes. */
const char *domino_strerror(int err);

/*
 * The stable wire code string ("invalid", "unauthorized", "not_found", ...)
 * used in control replies as err.code. Never NULL.
 */
const char *domino_errcode(int err);

/* The inverse of domino_errcode(); DOMINO_EREMOTE for an unknown string. */
int domino_err_from_code(const char *code);

#endif
