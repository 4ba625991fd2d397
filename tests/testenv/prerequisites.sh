#!/usr/bin/env bash
# prerequisites.sh - the system programs the tests and the local test clusters need, the Debian package of
# each, and the one command that installs them all. `deno task test` (tests/run.sh) runs `check` first, and
# .ci/run installs what `missing-packages` names; README.md lists the same command.
#
#   prerequisites.sh check              say what is missing and the one command that installs it; exit 1 if any
#   prerequisites.sh missing-packages   the Debian packages of the missing programs, one line (empty: none)
#   prerequisites.sh packages           every Debian package, one line
#   prerequisites.sh command            the one command that installs them all
#
# Besides the packages: Go 1.26 or newer (it compiles the clusters' binaries from the Go module proxy; Debian 12
# packages only Go 1.19), Deno 2.9.6 (npx -y deno@2.9.6, or npm install -g deno@2.9.6), and root (the PVC
# tests bind-mount volumes, the agent tests set file capabilities, ACLs and owners).
set -uo pipefail

# program:package; a program is looked up on PATH and in /usr/sbin and /sbin (sshd, setcap)
PROGRAMS=(
  rsync:rsync # the PVC data path (the agent runs rsync)
  ssh:openssh-client ssh-keygen:openssh-client sshd:openssh-server
  openssl:openssl curl:curl # the clusters' certificates; testenv's health checks
  flock:util-linux setsid:util-linux setpriv:util-linux # testenv's build lock and processes; capability tests
  mount:mount umount:mount # the PVC harness's bind mounts
  bwrap:bubblewrap # the agent's confinement of rsync
  setfacl:acl getfacl:acl setfattr:attr getfattr:attr setcap:libcap2-bin getcap:libcap2-bin
  chromium:chromium promtool:prometheus # the status page in a real browser; /metrics checked by promtool
  git:git apt-get:apt dpkg:dpkg # the original DR-Syncer's examples; Debian 12's rsync 3.2.7 for the agent tests
  node:nodejs npm:npm # npx deno / npm install -g deno (README, .ci/run)
)
GO_MINOR=26

packages() { # every package, in order, once
  local pair seen=" " pkg out=()
  for pair in "${PROGRAMS[@]}"; do
    pkg=${pair#*:}
    [[ $seen == *" $pkg "* ]] && continue
    seen+="$pkg "
    out+=("$pkg")
  done
  echo "${out[*]}"
}

install_command() { echo "apt-get update && apt-get install -y $(packages)"; }

has() { command -v "$1" >/dev/null 2>&1 || [[ -x /usr/sbin/$1 || -x /sbin/$1 ]]; }

missing_programs() { # program:package of each missing program
  local pair
  for pair in "${PROGRAMS[@]}"; do has "${pair%%:*}" || echo "$pair"; done
}

missing_packages() {
  local pair seen=" " pkg out=()
  while read -r pair; do
    [[ -n $pair ]] || continue
    pkg=${pair#*:}
    [[ $seen == *" $pkg "* ]] && continue
    seen+="$pkg "
    out+=("$pkg")
  done < <(missing_programs)
  echo "${out[*]}"
}

go_problem() { # why the Go toolchain does not do, or nothing
  local v minor
  if ! command -v go >/dev/null 2>&1; then
    echo "Go is not installed"
    return
  fi
  v=$(go env GOVERSION 2>/dev/null)
  minor=${v#go1.}
  minor=${minor%%[!0-9]*}
  if [[ ! $minor =~ ^[0-9]+$ ]] || ((minor < GO_MINOR)); then echo "Go is ${v:-of an unknown version}"; fi
}

cmd_check() {
  local problems=() pair go
  while read -r pair; do
    [[ -n $pair ]] && problems+=("${pair%%:*} (Debian package ${pair#*:})")
  done < <(missing_programs)
  if ((${#problems[@]})); then
    printf '[prerequisites] missing: %s\n' "$(printf '%s, ' "${problems[@]}" | sed 's/, $//')" >&2
    printf '[prerequisites] install every system package the tests need, as root, with:\n\n    %s\n\n' \
      "$(install_command)" >&2
  fi
  go=$(go_problem)
  if [[ -n $go ]]; then
    printf '[prerequisites] %s: Go 1.%s or newer is needed (it compiles the test clusters from the Go module proxy; Debian 12 packages only Go 1.19): install Go'"'"'s release archive, or, with a Go of 1.21 or newer, export GOTOOLCHAIN=go1.%s.8 (the go command then fetches that version from the Go module proxy)\n' \
      "$go" "$GO_MINOR" "$GO_MINOR" >&2
  fi
  if [[ $(id -u) != 0 ]]; then
    printf '[prerequisites] the tests need root: the PVC tests bind-mount volumes, the agent tests set file capabilities, ACLs and owners; run them as root (a VM or a container)\n' >&2
  fi
  if ((${#problems[@]})) || [[ -n $go ]] || [[ $(id -u) != 0 ]]; then return 1; fi
}

case ${1:-check} in
check) cmd_check ;;
missing-packages) missing_packages ;;
packages) packages ;;
command) install_command ;;
*)
  awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}" >&2
  exit 2
  ;;
esac
