#!/bin/sh
# A stand-in for a CI system, run by the exec plugin: it gets the event as
# CloudEvents JSON on stdin and DOMINO_* variables, "runs the tests" of the
# project, and reports the result back to domino. It runs next to the
# broker, so the CLI finds the admin token in ./var/domino; a real CI
# reports with the listener's own token (contrib/recipes/).
set -eu
log="/tmp/fake-ci-$DOMINO_SEQ.log"
{
	echo "revalidating $DOMINO_LISTENER against $DOMINO_REPO@$DOMINO_REF ($DOMINO_AFTER)"
	echo "via: $DOMINO_VIA"
	cat
} > "$log"
status=pass
grep -q '"actor":"mallory"' "$log" && status=fail
exec "${DOMINO_CLI:-build/domino}" report --listener "$DOMINO_LISTENER" \
    --seq "$DOMINO_SEQ" --status "$status" --url "file://$log"
