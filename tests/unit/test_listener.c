/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for broker/listener.c: registration validation (every refusal
 * names the field), normalization (short refs, org prefixes), the stored
 * form round trip, secret masking in replies, dependency matching and
 * tokens. Registrations are written as JSON and packed with msgpack-c.
 */
#include <criterion/criterion.h>
#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "listener.h"
#include "mpjson.h"
#include "msg.h"

#define CB_FILE "\"callback\": {\"plugin\": \"file\", \"config\": {\"path\": \"/tmp/x\"}}"

/* Parse json; returns listener_parse's result, err filled. */
static int
parse(const char *json, struct listener *l, char *err, size_t errlen)
{
	struct mj m;
	const msgpack_object *o = mj_obj(&m, json);
	int rv;

	cr_assert_not_null(o, "bad test JSON: %s", json);
	err[0] = '\0';
	rv = listener_parse(o, l, err, errlen);
	mj_free(&m);
	return rv;
}

/* The registration must be refused with a message starting with field. */
static void
refused(const char *json, const char *field)
{
	struct listener l;
	char err[256];
	int rv = parse(json, &l, err, sizeof(err));

	cr_assert_eq(rv, DOMINO_EINVAL, "accepted (%d): %s", rv, json);
	cr_assert(strncmp(err, field, strlen(field)) == 0,
	    "message does not start with the field %s: \"%s\"", field, err);
	cr_assert(err[strlen(field)] == ':' || err[strlen(field)] == '.',
	    "field %s not followed by ':' in \"%s\"", field, err);
	/* A refused parse leaves nothing behind. */
	cr_assert_null(l.name);
	cr_assert_null(l.deps);
	cr_assert_eq(l.n_deps, 0);
	cr_assert_null(l.config);
}

static void
accepted(const char *json, struct listener *l)
{
	char err[256];
	int rv = parse(json, l, err, sizeof(err));

	cr_assert_eq(rv, DOMINO_OK, "refused: %s (%s)", err, json);
}

Test(listener, minimal_registration_and_defaults)
{
	struct listener l;

	accepted("{\"name\": \"a\", \"depends_on\": [\"github.com/org/core\"], "
	    CB_FILE "}", &l);
	cr_assert_str_eq(l.name, "a");
	cr_assert_eq(l.n_deps, 1);
	cr_assert_str_eq(l.deps[0].repo, "github.com/org/core");
	cr_assert_null(l.deps[0].ref);
	cr_assert_null(l.deps[0].types);
	cr_assert_eq(l.deps[0].glob, 0);
	cr_assert_null(l.provides);
	cr_assert_str_eq(l.plugin, "file");
	cr_assert_eq(l.support_level, 2, "default support level is 2");
	cr_assert_eq(l.coalesce, 0);
	cr_assert_not_null(l.config);
	listener_clear(&l);
	/* listener_clear leaves a zeroed struct and may be called twice. */
	cr_assert_null(l.name);
	listener_clear(&l);
	listener_clear(NULL);
}

Test(listener, a_single_string_depends_on_is_one_entry)
{
	struct listener l;

	accepted("{\"name\": \"a\", \"depends_on\": \"github.com/org/core\", "
	    CB_FILE "}", &l);
	cr_assert_eq(l.n_deps, 1);
	cr_assert_str_eq(l.deps[0].repo, "github.com/org/core");
	listener_clear(&l);
}

Test(listener, unknown_plugin_names_callback_plugin)
{
	refused("{\"name\": \"a\", \"depends_on\": [\"github.com/org/core\"], "
	    "\"callback\": {\"plugin\": \"carrier-pigeon\", \"config\": {}}}",
	    "callback.plugin");
	refused("{\"name\": \"a\", \"depends_on\": [\"github.com/org/core\"], "
	    "\"callback\": {\"config\": {}}}", "callback.plugin");
}

Test(listener, malformed_glob_names_the_entry)
{
	refused("{\"name\": \"a\", \"depends_on\": [\"github.com/org/[abc\"], "
	    CB_FILE "}", "depends_on[0]");
	/* The index is the failing entry's, in either spelling. */
	refused("{\"name\": \"a\", \"depends_on\": [\"github.com/org/core\", "
	    "{\"repo\": \"github.com/org/x[]\"}], " CB_FILE "}",
	    "depends_on[1].repo");
	refused("{\"name\": \"a\", \"depends_on\": [\"github.com/org/core\", "
	    "{\"repo\": \"github.com/org/x\", \"ref\": \"refs/heads/[\"}], "
	    CB_FILE "}", "depends_on[1].ref");
}

Test(listener, bad_repos_name_the_entry)
{
	refused("{\"name\": \"a\", \"depends_on\": [\"https://github.com/org/x\"], "
	    CB_FILE "}", "depends_on[0]");
	refused("{\"name\": \"a\", \"depends_on\": [\"core\"], " CB_FILE "}",
	    "depends_on[0]");
	refused("{\"name\": \"a\", \"depends_on\": [\"github.com/org/x@main\"], "
	    CB_FILE "}", "depends_on[0]");
	refused("{\"name\": \"a\", \"depends_on\": [\"\"], " CB_FILE "}",
	    "depends_on[0]");
	refused("{\"name\": \"a\", \"depends_on\": [42], " CB_FILE "}",
	    "depends_on[0]");
	refused("{\"name\": \"a\", \"depends_on\": [{\"ref\": \"main\"}], "
	    CB_FILE "}", "depends_on[0].repo");
	refused("{\"name\": \"a\", \"depends_on\": [{\"repo\": \"github.com/o/x\", "
	    "\"branch\": \"main\"}], " CB_FILE "}", "depends_on[0].branch");
	/* provides must be a plain repo. */
	refused("{\"name\": \"a\", \"depends_on\": [\"github.com/org/core\"], "
	    "\"provides\": \"github.com/org/*\", " CB_FILE "}", "provides");
}

Test(listener, empty_or_missing_depends_on)
{
	refused("{\"name\": \"a\", \"depends_on\": [], " CB_FILE "}",
	    "depends_on");
	refused("{\"name\": \"a\", " CB_FILE "}", "depends_on");
	refused("{\"name\": \"a\", \"depends_on\": null, " CB_FILE "}",
	    "depends_on");
}

Test(listener, too_many_depends_on)
{
	char *json = malloc(64 * 1024);
	size_t off = 0;

	off += (size_t)sprintf(json + off, "{\"name\": \"a\", \"depends_on\": [");
	for (int i = 0; i <= LISTENER_DEPS_MAX; i++)
		off += (size_t)sprintf(json + off, "%s\"github.com/org/r%d\"",
		    i ? ", " : "", i);
	sprintf(json + off, "], " CB_FILE "}");
	refused(json, "depends_on");
	free(json);
}

Test(listener, name_required_and_checked)
{
	char long_name[LISTENER_NAME_MAX + 2];
	char json[512];

	refused("{\"depends_on\": [\"github.com/org/core\"], " CB_FILE "}", "name");
	refused("{\"name\": \"\", \"depends_on\": [\"github.com/org/core\"], "
	    CB_FILE "}", "name");
	refused("{\"name\": \"has space\", \"depends_on\": [\"github.com/o/c\"], "
	    CB_FILE "}", "name");
	refused("{\"name\": \"a/b\", \"depends_on\": [\"github.com/o/c\"], "
	    CB_FILE "}", "name");
	refused("{\"name\": \"caf\\u00e9\", \"depends_on\": [\"github.com/o/c\"], "
	    CB_FILE "}", "name");
	refused("{\"name\": 7, \"depends_on\": [\"github.com/o/c\"], "
	    CB_FILE "}", "name");
	memset(long_name, 'x', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	snprintf(json, sizeof(json), "{\"name\": \"%s\", \"depends_on\": "
	    "[\"github.com/o/c\"], " CB_FILE "}", long_name);
	refused(json, "name");
	/* 128 characters is fine. */
	{
		struct listener l;
		long_name[LISTENER_NAME_MAX] = '\0';
		snprintf(json, sizeof(json), "{\"name\": \"%s\", \"depends_on\": "
		    "[\"github.com/o/c\"], " CB_FILE "}", long_name);
		accepted(json, &l);
		listener_clear(&l);
		accepted("{\"name\": \"A-z_0.9\", \"depends_on\": "
		    "[\"github.com/o/c\"], " CB_FILE "}", &l);
		listener_clear(&l);
	}
}

Test(listener, self_dependency_is_refused)
{
	refused("{\"name\": \"core\", \"depends_on\": [\"github.com/org/lib\", "
	    "\"github.com/org/core\"], \"provides\": \"github.com/org/core\", "
	    CB_FILE "}", "depends_on[1]");
	/* Through a glob as well. */
	refused("{\"name\": \"core\", \"depends_on\": [\"github.com/org/*\"], "
	    "\"provides\": \"github.com/org/core\", " CB_FILE "}",
	    "depends_on[0]");
	/* And through an org prefix. */
	refused("{\"name\": \"core\", \"depends_on\": [\"github.com/org/\"], "
	    "\"provides\": \"github.com/org/core\", " CB_FILE "}",
	    "depends_on[0]");
}

Test(listener, unknown_top_level_key_is_named)
{
	refused("{\"name\": \"a\", \"depends_on\": [\"github.com/org/core\"], "
	    "\"dependencies\": [], " CB_FILE "}", "dependencies");
	/* Keys only the broker writes are not accepted from a registration. */
	refused("{\"name\": \"a\", \"depends_on\": [\"github.com/org/core\"], "
	    "\"created\": 5, " CB_FILE "}", "created");
	refused("{\"name\": \"a\", \"depends_on\": [\"github.com/org/core\"], "
	    "\"by_admin\": true, " CB_FILE "}", "by_admin");
}

Test(listener, support_level_is_checked)
{
	struct listener l;

	refused("{\"name\": \"a\", \"depends_on\": [\"github.com/org/core\"], "
	    "\"support_level\": 4, " CB_FILE "}", "support_level");
	refused("{\"name\": \"a\", \"depends_on\": [\"github.com/org/core\"], "
	    "\"support_level\": -1, " CB_FILE "}", "support_level");
	refused("{\"name\": \"a\", \"depends_on\": [\"github.com/org/core\"], "
	    "\"support_level\": \"core\", " CB_FILE "}", "support_level");
	for (int lvl = 0; lvl <= 3; lvl++) {
		char json[256];
		snprintf(json, sizeof(json), "{\"name\": \"a\", \"depends_on\": "
		    "[\"github.com/org/core\"], \"support_level\": %d, " CB_FILE
		    "}", lvl);
		accepted(json, &l);
		cr_assert_eq(l.support_level, lvl);
		listener_clear(&l);
	}
}

Test(listener, unknown_event_type_is_named)
{
	refused("{\"name\": \"a\", \"depends_on\": [{\"repo\": \"github.com/o/c\", "
	    "\"types\": [\"push\", \"pushed\"]}], " CB_FILE "}",
	    "depends_on[0].types[1]");
	refused("{\"name\": \"a\", \"depends_on\": [{\"repo\": \"github.com/o/c\", "
	    "\"types\": []}], " CB_FILE "}", "depends_on[0].types");
	refused("{\"name\": \"a\", \"depends_on\": [{\"repo\": \"github.com/o/c\", "
	    "\"types\": \"push\"}], " CB_FILE "}", "depends_on[0].types");
}

Test(listener, plugin_config_is_checked_against_the_schema)
{
	/* http needs url. */
	refused("{\"name\": \"a\", \"depends_on\": [\"github.com/org/core\"], "
	    "\"callback\": {\"plugin\": \"http\", \"config\": {}}}",
	    "callback.config.url");
	refused("{\"name\": \"a\", \"depends_on\": [\"github.com/org/core\"], "
	    "\"callback\": {\"plugin\": \"http\"}}", "callback.config.url");
	/* file needs path. */
	refused("{\"name\": \"a\", \"depends_on\": [\"github.com/org/core\"], "
	    "\"callback\": {\"plugin\": \"file\", \"config\": {}}}",
	    "callback.config.path");
	/* Unknown config key, named. */
	refused("{\"name\": \"a\", \"depends_on\": [\"github.com/org/core\"], "
	    "\"callback\": {\"plugin\": \"http\", \"config\": {\"url\": "
	    "\"https://ci.example.com/hook\", \"verb\": \"PUT\"}}}",
	    "callback.config.verb");
	/* A config that is not a map, and an unknown key in callback. */
	refused("{\"name\": \"a\", \"depends_on\": [\"github.com/org/core\"], "
	    "\"callback\": {\"plugin\": \"file\", \"config\": [1]}}",
	    "callback.config");
	refused("{\"name\": \"a\", \"depends_on\": [\"github.com/org/core\"], "
	    "\"callback\": {\"plugin\": \"file\", \"config\": {\"path\": \"/x\"}, "
	    "\"extra\": 1}}", "callback");
	/* Missing callback. */
	refused("{\"name\": \"a\", \"depends_on\": [\"github.com/org/core\"]}",
	    "callback");
}

Test(listener, other_fields_are_type_checked)
{
	refused("{\"name\": \"a\", \"depends_on\": [\"github.com/org/core\"], "
	    "\"labels\": {\"team\": 3}, " CB_FILE "}", "labels");
	refused("{\"name\": \"a\", \"depends_on\": [\"github.com/org/core\"], "
	    "\"retry\": [1], " CB_FILE "}", "retry");
	refused("{\"name\": \"a\", \"depends_on\": [\"github.com/org/core\"], "
	    "\"coalesce\": 1, " CB_FILE "}", "coalesce");
	refused("{\"name\": \"a\", \"depends_on\": [\"github.com/org/core\"], "
	    "\"provides\": 3, " CB_FILE "}", "provides");
}

Test(listener, not_a_map)
{
	refused("[1, 2]", "listener");
}

Test(listener, short_ref_expands_to_a_branch)
{
	struct listener l;

	accepted("{\"name\": \"a\", \"depends_on\": ["
	    "{\"repo\": \"github.com/o/c\", \"ref\": \"main\"},"
	    "{\"repo\": \"github.com/o/d\", \"ref\": \"refs/tags/*\"},"
	    "{\"repo\": \"github.com/o/e\", \"ref\": \"release/*\"},"
	    "{\"repo\": \"github.com/o/f\", \"ref\": \"*\"}], " CB_FILE "}", &l);
	cr_assert_eq(l.n_deps, 4);
	cr_assert_str_eq(l.deps[0].ref, "refs/heads/main");
	cr_assert_str_eq(l.deps[1].ref, "refs/tags/*");
	cr_assert_str_eq(l.deps[2].ref, "refs/heads/release/*");
	cr_assert_str_eq(l.deps[3].ref, "*");
	listener_clear(&l);
}

Test(listener, org_prefix_becomes_a_glob)
{
	struct listener l;

	accepted("{\"name\": \"a\", \"depends_on\": [\"github.com/org/\", "
	    "\"gitlab.com/g/*\", \"github.com/org/core\"], " CB_FILE "}", &l);
	cr_assert_str_eq(l.deps[0].repo, "github.com/org/*");
	cr_assert_eq(l.deps[0].glob, 1);
	cr_assert_eq(l.deps[1].glob, 1);
	cr_assert_eq(l.deps[2].glob, 0);
	cr_assert(listener_dep_repo_matches(&l.deps[0], "github.com/org/core"));
	cr_assert(listener_dep_repo_matches(&l.deps[0], "github.com/org/x"));
	cr_assert_not(listener_dep_repo_matches(&l.deps[0], "github.com/other/x"));
	cr_assert_not(listener_dep_repo_matches(&l.deps[0], "github.com/org"));
	cr_assert(listener_dep_repo_matches(&l.deps[2], "github.com/org/core"));
	cr_assert_not(listener_dep_repo_matches(&l.deps[2], "github.com/org/cor"));
	cr_assert_not(listener_dep_repo_matches(&l.deps[2], "github.com/org/core2"));
	listener_clear(&l);
}

Test(listener, filters_match_ref_and_types)
{
	struct listener l;

	accepted("{\"name\": \"a\", \"depends_on\": ["
	    "{\"repo\": \"github.com/o/c\", \"ref\": \"main\", "
	    "\"types\": [\"push\", \"tag\"]}, \"github.com/o/d\"], " CB_FILE "}",
	    &l);
	cr_assert(listener_dep_filters_match(&l.deps[0], "refs/heads/main", "push"));
	cr_assert(listener_dep_filters_match(&l.deps[0], "refs/heads/main", "tag"));
	cr_assert_not(listener_dep_filters_match(&l.deps[0], "refs/heads/dev", "push"));
	cr_assert_not(listener_dep_filters_match(&l.deps[0], "refs/heads/main", "pr.open"));
	cr_assert_not(listener_dep_filters_match(&l.deps[0], NULL, "push"));
	cr_assert_not(listener_dep_filters_match(&l.deps[0], "refs/heads/main", NULL));
	/* No filters: anything. */
	cr_assert(listener_dep_filters_match(&l.deps[1], NULL, NULL));
	cr_assert(listener_dep_filters_match(&l.deps[1], "refs/tags/v1", "tag"));
	listener_clear(&l);
}

static void
check_same(const struct listener *a, const struct listener *b)
{
	cr_assert_str_eq(a->name, b->name);
	cr_assert_eq(a->n_deps, b->n_deps);
	for (size_t i = 0; i < a->n_deps; i++) {
		cr_assert_str_eq(a->deps[i].repo, b->deps[i].repo);
		cr_assert_eq(a->deps[i].glob, b->deps[i].glob);
		if (a->deps[i].ref == NULL)
			cr_assert_null(b->deps[i].ref);
		else
			cr_assert_str_eq(a->deps[i].ref, b->deps[i].ref);
		cr_assert_eq(a->deps[i].n_types, b->deps[i].n_types);
		for (size_t j = 0; j < a->deps[i].n_types; j++)
			cr_assert_str_eq(a->deps[i].types[j], b->deps[i].types[j]);
	}
	cr_assert_str_eq(a->provides, b->provides);
	cr_assert_str_eq(a->plugin, b->plugin);
	cr_assert_eq(a->config_len, b->config_len);
	cr_assert_arr_eq(a->config, b->config, a->config_len);
	cr_assert_eq(a->retry_len, b->retry_len);
	cr_assert_arr_eq(a->retry, b->retry, a->retry_len);
	cr_assert_eq(a->labels_len, b->labels_len);
	cr_assert_arr_eq(a->labels, b->labels, a->labels_len);
	cr_assert_eq(a->support_level, b->support_level);
	cr_assert_eq(a->coalesce, b->coalesce);
	cr_assert_eq(a->disabled, b->disabled);
	cr_assert_eq(a->by_admin, b->by_admin);
	cr_assert_eq(a->failing_since, b->failing_since);
	cr_assert_eq(a->created, b->created);
	cr_assert_eq(a->updated, b->updated);
	cr_assert_arr_eq(a->token_hash, b->token_hash, LISTENER_HASH_BYTES);
}

#define FULL_REG "{\"name\": \"ci-b\", \"depends_on\": [" \
	"{\"repo\": \"github.com/org/a\", \"ref\": \"main\", \"types\": [\"push\", \"tag\"]}," \
	"\"github.com/org/\"], \"provides\": \"github.com/org/b\", " \
	"\"callback\": {\"plugin\": \"http\", \"config\": {\"url\": " \
	"\"https://ci.example.com/hook\", \"secret\": \"s3cr3t-value\"}}, " \
	"\"retry\": {\"schedule\": [\"1s\", \"5s\"], \"max_attempts\": 2}, " \
	"\"support_level\": 1, \"labels\": {\"team\": \"infra\"}, \"coalesce\": true}"

Test(listener, stored_form_round_trip)
{
	struct listener l, back, again;
	char *buf = NULL, *buf2 = NULL, *tok = NULL;
	size_t len = 0, len2 = 0;

	/* The self-dependency check must not trip on the org glob here:
	 * provides github.com/org/b matches github.com/org/ -> refused. Use a
	 * provides outside the org instead. */
	{
		char err[256];
		cr_assert_eq(parse(FULL_REG, &l, err, sizeof(err)), DOMINO_EINVAL);
		cr_assert(strncmp(err, "depends_on[1]", 13) == 0, "%s", err);
	}
	accepted("{\"name\": \"ci-b\", \"depends_on\": ["
	    "{\"repo\": \"github.com/org/a\", \"ref\": \"main\", \"types\": [\"push\", \"tag\"]},"
	    "\"github.com/org/\"], \"provides\": \"gitlab.com/team/b\", "
	    "\"callback\": {\"plugin\": \"http\", \"config\": {\"url\": "
	    "\"https://ci.example.com/hook\", \"secret\": \"s3cr3t-value\"}}, "
	    "\"retry\": {\"schedule\": [\"1s\", \"5s\"], \"max_attempts\": 2}, "
	    "\"support_level\": 1, \"labels\": {\"team\": \"infra\"}, "
	    "\"coalesce\": true}", &l);
	l.created = 1700000000000000001;
	l.updated = 1700000000000000002;
	l.disabled = 1;
	l.by_admin = 1;
	l.failing_since = 1700000000000000003;
	cr_assert_eq(listener_new_token(&l, &tok), DOMINO_OK);
	cr_assert_eq(listener_encode(&l, &buf, &len), DOMINO_OK);
	cr_assert_eq(listener_decode(buf, len, &back), DOMINO_OK);
	check_same(&l, &back);
	/* The stored form keeps the secret itself (masking is for replies). */
	cr_assert_not_null(memmem(buf, len, "s3cr3t-value", 12));
	/* Encoding what was decoded gives the same bytes. */
	cr_assert_eq(listener_encode(&back, &buf2, &len2), DOMINO_OK);
	cr_assert_eq(len, len2);
	cr_assert_arr_eq(buf, buf2, len);
	/* The token still works against the decoded hash. */
	cr_assert(listener_token_ok(&back, tok, strlen(tok)));
	/* A decode of garbage fails and leaves a cleared struct. */
	cr_assert_neq(listener_decode("\x93\x01", 2, &again), DOMINO_OK);
	cr_assert_null(again.name);
	free(buf);
	free(buf2);
	free(tok);
	listener_clear(&l);
	listener_clear(&back);
}

static const char *mv_repos[] = {"github.com/org/a", "github.com/org/z",
    "github.com/other/a", "gitlab.com/team/b"};
static const char *mv_refs[] = {NULL, "refs/heads/main", "refs/heads/dev"};
static const char *mv_types[] = {NULL, "push", "tag", "pr.open"};

/* m, a view of dependency i of l, says what l says. */
static void
view_agrees(const struct listener *l, size_t i, const struct listener_match *m)
{
	const struct listener_dep *d = &l->deps[i];

	cr_assert_eq(m->name_len, strlen(l->name));
	cr_assert_arr_eq(m->name, l->name, m->name_len);
	cr_assert_eq(m->provides_len, strlen(l->provides));
	cr_assert_arr_eq(m->provides, l->provides, m->provides_len);
	cr_assert_eq(m->repo_len, strlen(d->repo));
	cr_assert_arr_eq(m->repo, d->repo, m->repo_len);
	cr_assert_eq(m->support_level, 1);
	cr_assert(m->coalesce);
	for (size_t r = 0; r < 4; r++)
		for (size_t f = 0; f < 3; f++)
			for (size_t t = 0; t < 4; t++) {
				const char *repo = mv_repos[r], *ref = mv_refs[f];
				const char *type = mv_types[t];
				int want = listener_dep_repo_matches(d, repo);
				cr_assert_eq(listener_match_accepts(m, repo, 0, ref,
				    type), want, "dep %zu repo %s", i, repo);
				want = want && listener_dep_filters_match(d, ref, type);
				cr_assert_eq(listener_match_accepts(m, repo, 1, ref,
				    type), want, "dep %zu %s %s %s", i, repo,
				    ref ? ref : "-", type ? type : "-");
			}
}

/* The matching view of every dependency, read from the stored listener or
 * from the index entry's match record, says what the full decode says,
 * and accepts exactly what listener_dep_*_match accept. */
Test(listener, match_view_agrees_with_the_full_decode)
{
	struct listener l, back;
	struct listener_match m;
	char *buf = NULL;
	size_t len = 0;

	accepted("{\"name\": \"ci-b\", \"depends_on\": ["
	    "{\"repo\": \"github.com/org/a\", \"ref\": \"main\", \"types\": [\"push\", \"tag\"]},"
	    "\"github.com/org/\", {\"repo\": \"github.com/other/*\", \"ref\": \"refs/heads/d*\"}],"
	    " \"provides\": \"gitlab.com/team/b\", " CB_FILE ", "
	    "\"support_level\": 1, \"labels\": {\"team\": \"infra\"}, "
	    "\"coalesce\": true}", &l);
	l.disabled = 1;
	cr_assert_eq(listener_encode(&l, &buf, &len), DOMINO_OK);
	cr_assert_eq(listener_decode(buf, len, &back), DOMINO_OK);
	for (size_t i = 0; i < back.n_deps; i++) {
		const struct listener_dep *d = &back.deps[i];
		char *rec;
		size_t rlen;

		cr_assert_eq(listener_decode_match(buf, len, i, &m), DOMINO_OK);
		view_agrees(&back, i, &m);
		cr_assert(m.disabled);

		cr_assert_eq(listener_match_rec(&back, i, &rec, &rlen), DOMINO_OK);
		cr_assert_eq(listener_match_from_rec(back.name, d->repo,
		    strlen(d->repo), rec, rlen, &m), DOMINO_OK);
		view_agrees(&back, i, &m);
		cr_assert_not(m.disabled, "a record does not carry the flag");
		/* Cut short, a record is refused or read within its bytes. */
		for (size_t cut = 0; cut < rlen; cut++) {
			int rv = listener_match_from_rec(back.name, d->repo,
			    strlen(d->repo), rec, cut, &m);
			if (rv == DOMINO_OK)
				cr_assert(m.types == NULL ||
				    (const char *)m.types + m.types_len <= rec + cut);
		}
		free(rec);
	}
	cr_assert_eq(listener_decode_match(buf, len, back.n_deps, &m),
	    DOMINO_ENOTFOUND);
	cr_assert_eq(listener_match_rec(&back, back.n_deps, &buf, &len),
	    DOMINO_EINVAL);
	/* Cut anywhere, the bytes give an error or a view inside them. */
	for (size_t cut = 0; cut < len; cut++) {
		int rv = listener_decode_match(buf, cut, 0, &m);
		if (rv == DOMINO_OK)
			cr_assert(m.repo + m.repo_len <= buf + cut);
	}
	free(buf);
	listener_clear(&l);
	listener_clear(&back);
}

/* A listener without provides, filters or flags gives nils and zeros. */
Test(listener, bare_match_record)
{
	struct listener l;
	struct listener_match m;
	char *rec;
	size_t rlen;

	accepted("{\"name\": \"bare\", \"depends_on\": [\"github.com/o/a\"], "
	    CB_FILE "}", &l);
	cr_assert_eq(listener_match_rec(&l, 0, &rec, &rlen), DOMINO_OK);
	cr_assert_eq(listener_match_from_rec("bare", "github.com/o/a", 14, rec,
	    rlen, &m), DOMINO_OK);
	cr_assert_null(m.provides);
	cr_assert_null(m.ref);
	cr_assert_null(m.types);
	cr_assert_eq(m.support_level, l.support_level);
	cr_assert_not(m.coalesce);
	cr_assert(listener_match_accepts(&m, "github.com/o/a", 1,
	    "refs/heads/x", "push"));
	cr_assert_not(listener_match_accepts(&m, "github.com/o/b", 0, NULL, NULL));
	cr_assert_eq(listener_match_from_rec("bare", "x", 1, "\x95\xc0\x07\xc2"
	    "\xc0\xc0", 6, &m), DOMINO_EPROTO, "support level 7");
	cr_assert_eq(listener_match_from_rec("bare", "x", 1, "\x94\xc0\x01\xc2"
	    "\xc0", 5, &m), DOMINO_EPROTO, "four fields");
	free(rec);
	listener_clear(&l);
}

/* Pack l into a buffer and unpack it for inspection. */
static void
packed(const struct listener *l, int full, msgpack_sbuffer *sb,
    msgpack_unpacked *u)
{
	msgpack_packer pk;
	size_t off = 0;

	msgpack_sbuffer_init(sb);
	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	cr_assert_eq(listener_pack(&pk, l, full), DOMINO_OK);
	msgpack_unpacked_init(u);
	cr_assert_eq(msgpack_unpack_next(u, sb->data, sb->size, &off),
	    MSGPACK_UNPACK_SUCCESS);
	cr_assert_eq(off, sb->size, "trailing bytes after the packed listener");
}

static int
str_is(const msgpack_object *o, const char *s)
{
	return o != NULL && o->type == MSGPACK_OBJECT_STR &&
	    o->via.str.size == strlen(s) &&
	    memcmp(o->via.str.ptr, s, o->via.str.size) == 0;
}

Test(listener, full_pack_masks_secret_config_values)
{
	struct listener l;
	msgpack_sbuffer sb;
	msgpack_unpacked u;
	const msgpack_object *cb, *cfg;
	char text[2048];
	char *tok = NULL;

	accepted("{\"name\": \"hooked\", \"depends_on\": [\"github.com/org/a\"], "
	    "\"callback\": {\"plugin\": \"http\", \"config\": {\"url\": "
	    "\"https://ci.example.com/hook\", \"secret\": \"s3cr3t-value\"}}, "
	    "\"labels\": {\"team\": \"infra\"}}", &l);
	cr_assert_eq(listener_new_token(&l, &tok), DOMINO_OK);
	packed(&l, 1, &sb, &u);
	mj_text(&u.data, text, sizeof(text));
	cr_assert_null(memmem(sb.data, sb.size, "s3cr3t-value", 12),
	    "secret leaked: %s", text);
	cb = msg_get(&u.data, "callback");
	cfg = msg_get(cb, "config");
	cr_assert(str_is(msg_get(cb, "plugin"), "http"), "%s", text);
	cr_assert(str_is(msg_get(cfg, "secret"), "***"), "%s", text);
	cr_assert(str_is(msg_get(cfg, "url"), "https://ci.example.com/hook"),
	    "%s", text);
	cr_assert(str_is(msg_get(&u.data, "name"), "hooked"));
	cr_assert_not_null(msg_get(&u.data, "created"));
	cr_assert_not_null(msg_get(&u.data, "updated"));
	cr_assert(str_is(msg_get(msg_get(&u.data, "labels"), "team"), "infra"));
	/* Neither the token nor its hash is ever in a reply. */
	cr_assert_null(msg_get(&u.data, "token_hash"), "%s", text);
	cr_assert_null(memmem(sb.data, sb.size, l.token_hash, LISTENER_HASH_BYTES));
	msgpack_unpacked_destroy(&u);
	msgpack_sbuffer_destroy(&sb);

	/* The summary names the plugin and carries no config at all. */
	packed(&l, 0, &sb, &u);
	mj_text(&u.data, text, sizeof(text));
	cr_assert(str_is(msg_get(&u.data, "plugin"), "http"), "%s", text);
	cr_assert_null(msg_get(&u.data, "callback"), "%s", text);
	cr_assert_null(memmem(sb.data, sb.size, "s3cr3t-value", 12));
	cr_assert_not_null(msg_get(&u.data, "depends_on"));
	msgpack_unpacked_destroy(&u);
	msgpack_sbuffer_destroy(&sb);
	free(tok);
	listener_clear(&l);
}

Test(listener, tokens)
{
	struct listener a = {0}, b = {0};
	char *ta = NULL, *tb = NULL;
	uint8_t zero[LISTENER_HASH_BYTES] = {0};
	uint8_t h[LISTENER_HASH_BYTES];

	cr_assert_eq(listener_new_token(&a, &ta), DOMINO_OK);
	cr_assert_eq(listener_new_token(&b, &tb), DOMINO_OK);
	cr_assert_not_null(ta);
	cr_assert_gt(strlen(ta), 32, "token too short: %s", ta);
	cr_assert_str_neq(ta, tb, "two tokens are the same");
	cr_assert(memcmp(a.token_hash, zero, sizeof(zero)) != 0);
	/* The struct keeps a hash, not the token. */
	cr_assert_null(memmem(a.token_hash, LISTENER_HASH_BYTES, ta, 8));
	listener_token_hash(ta, strlen(ta), h);
	cr_assert_arr_eq(h, a.token_hash, LISTENER_HASH_BYTES);
	cr_assert(listener_token_ok(&a, ta, strlen(ta)));
	cr_assert(listener_token_ok(&b, tb, strlen(tb)));
	cr_assert_not(listener_token_ok(&a, tb, strlen(tb)), "b's token opens a");
	cr_assert_not(listener_token_ok(&b, ta, strlen(ta)), "a's token opens b");
	cr_assert_not(listener_token_ok(&a, ta, strlen(ta) - 1), "a prefix works");
	cr_assert_not(listener_token_ok(&a, "", 0));
	cr_assert_not(listener_token_ok(&a, NULL, 0));
	/* A listener without a token (zero hash) accepts nothing. */
	{
		struct listener none = {0};
		cr_assert_not(listener_token_ok(&none, ta, strlen(ta)));
		cr_assert_not(listener_token_ok(&none, "x", 1));
	}
	free(ta);
	free(tb);
}

Test(listener, repeated_keys_do_not_leak)
{
	/* msgpack maps may repeat a key. Either refuse the registration
	 * naming the field, or let the last one win; never lose track of the
	 * first value (LeakSanitizer checks this test's process). */
	static const char *const keys[] = {"name", "provides", "retry", "labels"};
	static const char *const vals[][2] = {
		{"\"first\"", "\"second\""},
		{"\"gitlab.com/x/one\"", "\"gitlab.com/x/two\""},
		{"{\"max_attempts\": 1}", "{\"max_attempts\": 2}"},
		{"{\"a\": \"1\"}", "{\"b\": \"2\"}"},
	};

	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		msgpack_sbuffer sb;
		msgpack_packer pk;
		msgpack_unpacked u;
		struct listener l;
		char err[256] = "";
		size_t off = 0;
		int rv;

		/* JSON objects cannot repeat keys through cJSON: pack by hand. */
		msgpack_sbuffer_init(&sb);
		msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
		msgpack_pack_map(&pk, strcmp(keys[k], "name") == 0 ? 4 : 5);
		if (strcmp(keys[k], "name") != 0) {
			msgpack_pack_str_with_body(&pk, "name", 4);
			msgpack_pack_str_with_body(&pk, "n", 1);
		}
		for (int i = 0; i < 2; i++) {
			struct mj m;
			const msgpack_object *v = mj_obj(&m, vals[k][i]);
			cr_assert_not_null(v);
			msgpack_pack_str_with_body(&pk, keys[k], strlen(keys[k]));
			msgpack_pack_object(&pk, *v);
			mj_free(&m);
		}
		msgpack_pack_str_with_body(&pk, "depends_on", 10);
		msgpack_pack_str_with_body(&pk, "github.com/o/a", 14);
		{
			struct mj m;
			const msgpack_object *v = mj_obj(&m, "{\"plugin\": \"file\", "
			    "\"config\": {\"path\": \"/tmp/x\"}}");
			msgpack_pack_str_with_body(&pk, "callback", 8);
			msgpack_pack_object(&pk, *v);
			mj_free(&m);
		}
		msgpack_unpacked_init(&u);
		cr_assert_eq(msgpack_unpack_next(&u, sb.data, sb.size, &off),
		    MSGPACK_UNPACK_SUCCESS);
		rv = listener_parse(&u.data, &l, err, sizeof(err));
		if (rv == DOMINO_OK) {
			if (strcmp(keys[k], "name") == 0)
				cr_assert_str_eq(l.name, "second", "the last one wins");
			if (strcmp(keys[k], "provides") == 0)
				cr_assert_str_eq(l.provides, "gitlab.com/x/two");
		} else {
			cr_assert_eq(rv, DOMINO_EINVAL);
			cr_assert(strncmp(err, keys[k], strlen(keys[k])) == 0,
			    "repeated %s refused without naming it: %s", keys[k], err);
		}
		listener_clear(&l);
		msgpack_unpacked_destroy(&u);
		msgpack_sbuffer_destroy(&sb);
	}
}
