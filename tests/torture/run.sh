#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# torture: the long reliability runs, `make torture` (tests/RELIABILITY.md).
#   - the crash test with DOMINO_CRASH_CYCLES kill cycles (default 20):
#     loadgen at full speed, SIGKILL at a random moment, restart, and at the
#     end every acknowledged event in the log once with its seq, no gap,
#     every delivery ok;
#   - the malformed-input test at DOMINO_BADINPUT_ROUNDS (default 1000:
#     about 30,000 bad HTTP requests and 10,000 bad control messages);
#   - the slow-consumer test.
# Each prints its figures on a "crash:", "badinput:" or "slow:" line;
# they are collected at the end.
#
# Usage: tests/torture/run.sh [BUILD_DIR]   (default build/test, an ASan build)
# Environment: DOMINO_CRASH_CYCLES, DOMINO_CRASH_SEED, DOMINO_BADINPUT_ROUNDS
set -uo pipefail

BUILD=${1:-build/test}
export DOMINO_TORTURE=1
export DOMINO_CRASH_CYCLES=${DOMINO_CRASH_CYCLES:-20}
export DOMINO_BADINPUT_ROUNDS=${DOMINO_BADINPUT_ROUNDS:-1000}
export DOMINO_TEST_TIMEOUT=${DOMINO_TEST_TIMEOUT:-1800}
log=$(mktemp "${TMPDIR:-/tmp}/domino-torture.XXXXXX")
trap 'rm -f "$log"' EXIT

echo "torture: $DOMINO_CRASH_CYCLES kill cycles, $DOMINO_BADINPUT_ROUNDS bad-input rounds ($BUILD)"
tools/run-tests "$BUILD" e2e_test_crash e2e_test_badinput e2e_test_slow 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
echo
echo "torture: figures"
grep -aE '^(crash|badinput|slow):' "$log"
exit "$rc"
