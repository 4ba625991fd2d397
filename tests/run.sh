#!/usr/bin/env bash
# Runs the test suite against the two local clusters. Checks the system prerequisites first and stops with
# the one command that installs them when any is missing (tests/testenv/prerequisites.sh). Starts the
# clusters when they are not running and, if it started them, stops them afterwards (set
# DR_SYNCER_KEEP_TESTENV=1 to keep them for the next run); clusters that run without their volume provisioner
# get it and keep running. Before the whole suite, builds the Kubernetes binaries of the version-skew test's
# DR cluster, kubectl and Helm (once; a no-op when cached).
#   tests/run.sh [deno test arguments...]   default: every test under tests/
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
testenv=tests/testenv/testenv.sh
bash tests/testenv/prerequisites.sh check || exit 1
if (($# == 0)); then
  set -- tests/
  # the version-skew test starts a DR cluster of another Kubernetes minor version, the CRD tests run kubectl,
  # the Helm tests Helm: each built here (once; a no-op when cached), not in the middle of a test's timeout
  for build in build-skew build-kubectl build-helm; do bash "$testenv" "$build" >/dev/null || exit 1; done
fi
started=0
bash "$testenv" status >/dev/null 2>&1
case $? in
0) ;;
3) bash "$testenv" up || exit 1 ;; # running, without a provisioner: `up` adds it, the clusters keep running
*)
  bash "$testenv" up || exit 1
  started=1
  ;;
esac
deno test -A --parallel "$@"
rc=$?
if ((started)) && [[ -z ${DR_SYNCER_KEEP_TESTENV:-} ]]; then bash "$testenv" down; fi
exit $rc
