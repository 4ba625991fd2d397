#!/usr/bin/env bash
# Runs the test suite against the two local clusters. Starts them when they are not running and,
# if it started them, stops them afterwards (set DR_SYNCER_KEEP_TESTENV=1 to keep them for the next run).
#   tests/run.sh [deno test arguments...]   default: every test under tests/
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
testenv=tests/testenv/testenv.sh
started=0
if ! bash "$testenv" status >/dev/null 2>&1; then
  bash "$testenv" up || exit 1
  started=1
fi
if (($# == 0)); then set -- tests/; fi
deno test -A --parallel "$@"
rc=$?
if ((started)) && [[ -z ${DR_SYNCER_KEEP_TESTENV:-} ]]; then bash "$testenv" down; fi
exit $rc
