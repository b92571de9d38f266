/* SPDX-License-Identifier: MIT */
/*
 * Gitea and Forgejo (and Gogs, which they grew from): the body is
 * GitHub's shape, so normalizing is forge_hub_body(); only the headers
 * differ. The signature is the bare lowercase hex HMAC-SHA256 of the body
 * in X-Forgejo-Signature, X-Gitea-Signature or X-Gogs-Signature (same
 * value); the first present is checked. Forgejo's own headers win over
 * the Gitea copies it also sends.
 */
#include <cjson/cJSON.h>

#include "forge.h"

/* Header names by preference: Forgejo, Gitea, Gogs. */
static const char *const sig_headers[] = {
	"X-Forgejo-Signature", "X-Gitea-Signature", "X-Gogs-Signature", NULL,
};
static const char *const event_headers[] = {
	"X-Forgejo-Event", "X-Gitea-Event", "X-Gogs-Event", NULL,
};
static const char *const type_headers[] = {
	"X-Forgejo-Event-Type", "X-Gitea-Event-Type", NULL,
};
static const char *const id_headers[] = {
	"X-Forgejo-Delivery", "X-Gitea-Delivery", "X-Gogs-Delivery", NULL,
};

static const char *const gitea_keep[] = {
	"X-Forgejo-Event", "X-Forgejo-Event-Type", "X-Forgejo-Delivery",
	"X-Gitea-Event", "X-Gitea-Event-Type", "X-Gitea-Delivery",
	"X-Gogs-Event", "X-Gogs-Delivery", "X-GitHub-Event",
	"X-GitHub-Delivery", "User-Agent", "Content-Type", NULL,
};

static const char *
first_header(const struct forge_req *req, const char *const *names,
    const char **which)
{
	const char *v;

	for (size_t i = 0; names[i] != NULL; i++) {
		v = forge_header(req, names[i]);
		if (v != NULL && *v != '\0') {
			if (which != NULL)
				*which = names[i];
			return v;
		}
	}
	return NULL;
}

static int
gitea_verify(const struct forge_req *req, const struct forge_cred *cred,
    struct forge_err *err)
{
	const char *header = sig_headers[1];

	first_header(req, sig_headers, &header);
	return forge_check_hmac(req, cred, "gitea", header, NULL, err);
}

static int
gitea_normalize(const struct forge_req *req, struct forge_out *out,
    struct forge_err *err)
{
	const char *event = first_header(req, event_headers, NULL);
	const char *fine = first_header(req, type_headers, NULL);
	struct domino_event *ev;
	cJSON *root = NULL;
	int rc = -1;

	if (event == NULL)
		return forge_fail(err, 400, "missing_header",
		    "no X-Gitea-Event or X-Forgejo-Event header: is this a "
		    "Gitea or Forgejo webhook?");
	root = forge_parse_json(req, err);
	if (root == NULL)
		goto out;
	ev = forge_out_next(out);
	if (forge_hub_body(root, event, fine, ev, err) != 0)
		goto out;
	if (forge_put(&ev->id, first_header(req, id_headers, NULL)) != 0 ||
	    forge_keep_headers(req, ev, gitea_keep) != 0) {
		forge_nomem(err);
		goto out;
	}
	rc = 0;
out:
	cJSON_Delete(root);
	return rc;
}

const struct forge_ops forge_gitea = {
	.name = "gitea",
	.verify = gitea_verify,
	.normalize = gitea_normalize,
};
