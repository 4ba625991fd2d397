#!/usr/bin/env bash
# testenv.sh - two real Kubernetes clusters ("source" and "dr") on 127.0.0.1, without Docker.
#
# Each cluster runs an etcd, a kube-apiserver, a kube-controller-manager with every controller that works
# without a cloud (Deployments, ReplicaSets, StatefulSets, DaemonSets, Jobs, CronJobs, garbage collection,
# PV binding, endpoints, quotas, node lifecycle, ...), a real kube-scheduler, KWOK, which simulates
# the kubelets of two fake Nodes (kwok-node-0, kwok-node-1): pods are scheduled onto them and become
# Running and Ready, Job pods complete, deleted pods go away, and a dynamic volume provisioner (the
# provision controller of sig-storage-lib-external-provisioner with a hostPath backend,
# tests/testenv/provisioner/) behind the default StorageClass "standard" (WaitForFirstConsumer): a claim
# gets a volume once its first pod is scheduled. No container ever runs and no volume is mounted.
# kube-apiserver, kube-controller-manager and kube-scheduler are compiled from the Go module
# k8s.io/kubernetes, etcd from go.etcd.io/etcd/server/v3, kwok from sigs.k8s.io/kwok (its Stage
# files are copied beside it) and the provisioner from its go.mod, once, into a version-keyed cache
# outside the repository.
#
#   testenv.sh build    build the binaries the clusters need (no-op when cached)
#   testenv.sh build-skew      build the Kubernetes binaries of SKEW_K8S_VERSION (the version-skew test's
#                              DR cluster); prints that version
#   testenv.sh build-kubectl   build kubectl too (benchmarks, the CRD tests); prints its path
#   testenv.sh build-helm      build Helm (HELM_VERSION, v4.3.2; the Helm tests); prints its path
#   testenv.sh up       start the clusters side by side; write .testenv/{source,dr}.kubeconfig; on clusters
#                       that already run, start what is missing of the provisioner and its StorageClass
#   testenv.sh down     stop exactly what `up` started and remove its state
#   testenv.sh status   say what runs (exit 0: all; 1: a cluster stopped or broken; 3: all clusters run but
#                       a provisioner does not, which `up` starts without restarting them)
#   testenv.sh ensure   `up` unless the clusters already answer
#
# Environment: K8S_VERSION (v1.36.3)  ETCD_VERSION (v3.6.16)  KWOK_VERSION (v0.8.0)
#   <CLUSTER>_K8S_VERSION (one cluster's version: DR_K8S_VERSION=v1.34.4 runs cluster "dr" at v1.34.4)
#   SKEW_K8S_VERSION (v1.34.4)  DR_SYNCER_TESTENV_CACHE (~/.cache/dr-syncer-testenv)
#   DR_SYNCER_TESTENV_DIR (<repo>/.testenv)  DR_SYNCER_TESTENV_CLUSTERS ("source dr": the names of the clusters)
#   START_TIMEOUT (seconds, 120)  DR_SYNCER_TESTENV_NODES (fake nodes per cluster, 2)
#   DR_SYNCER_TESTENV_APISERVER_ARGS (more kube-apiserver flags, appended: they win over the defaults)
# More in docs/testenv.md.
set -Eeuo pipefail

K8S_VERSION=${K8S_VERSION:-v1.36.3}
# The other minor version the version-skew test runs its DR cluster at (tests/integration/version_skew_test.ts).
SKEW_K8S_VERSION=${SKEW_K8S_VERSION:-v1.34.4}
ETCD_VERSION=${ETCD_VERSION:-v3.6.16}
RECIPE_REV=1 # bump when the build recipe changes: a new cache key
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CACHE_ROOT=${DR_SYNCER_TESTENV_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/dr-syncer-testenv}
STATE_DIR=${DR_SYNCER_TESTENV_DIR:-$REPO_ROOT/.testenv}
START_TIMEOUT=${START_TIMEOUT:-120}
read -r -a CLUSTERS <<<"${DR_SYNCER_TESTENV_CLUSTERS:-source dr}"
read -r -a APISERVER_ARGS <<<"${DR_SYNCER_TESTENV_APISERVER_ARGS:-}"
KWOK_VERSION=${KWOK_VERSION:-v0.8.0}
HELM_VERSION=${HELM_VERSION:-v4.3.2}
NODES_PER_CLUSTER=${DR_SYNCER_TESTENV_NODES:-2}
# Every controller kube-controller-manager enables by default ("*", as in a kubeadm cluster) except the three
# cloud ones, which since KEP-2395 are empty stubs here (their work is cloud-controller-manager's). Off by
# default and left off: the bootstrap-token signer and cleaner (kubeadm joins), selinux-warning, and the
# controllers behind alpha feature gates.
KCM_CONTROLLERS='*,-service-lb-controller,-node-route-controller,-cloud-node-lifecycle-controller'
# The Stage sets of kwok that drive the fake nodes and pods (directories under kustomize/stage/ of its module).
KWOK_STAGE_SETS=(node/fast node/heartbeat pod/fast)
# The dynamic provisioner and the default StorageClass every cluster gets (tests/testenv/provisioner/).
PROVISIONER_SRC="$REPO_ROOT/tests/testenv/provisioner"
PROVISIONER_NAME=testenv.dr-syncer.io/hostpath
DEFAULT_STORAGE_CLASS=standard

export GOTOOLCHAIN="${GOTOOLCHAIN:-local}" GOWORK=off GOFLAGS='' CGO_ENABLED=0

log() { printf '[testenv] %s\n' "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}
need() { command -v "$1" >/dev/null 2>&1 || die "$1 is not installed${2:+: $2}"; }

# The binaries of Kubernetes $1 (default K8S_VERSION): kube-*, etcd, and kwok in kwok_dir.
bin_dir() { echo "$CACHE_ROOT/bin/k8s-${1:-$K8S_VERSION}-etcd-${ETCD_VERSION}-r${RECIPE_REV}"; }
kwok_dir() { echo "$(bin_dir "${1:-}")/kwok-${KWOK_VERSION}"; } # kwok and its Stage files, keyed by their version
kwok_cached() { [[ -x $1/kwok ]] && compgen -G "$1/stages/*.yaml" >/dev/null; }
# The provisioner, keyed by a hash of its source, go.mod and go.sum: a change to any of them builds it anew.
provisioner_bin() {
  local sum
  sum=$(cat "$PROVISIONER_SRC/main.go" "$PROVISIONER_SRC/go.mod" "$PROVISIONER_SRC/go.sum" | sha256sum)
  echo "$CACHE_ROOT/bin/provisioner-${sum:0:12}/dr-syncer-testenv-provisioner"
}

# The Kubernetes version of cluster $1: <NAME>_K8S_VERSION (the name upper-cased, other characters as _),
# else K8S_VERSION.
cluster_version() {
  local var v
  var=$(tr '[:lower:]' '[:upper:]' <<<"$1" | tr -c 'A-Z0-9\n' '_')_K8S_VERSION
  v=${!var:-$K8S_VERSION}
  [[ $v =~ ^v1\.[0-9]+\.[0-9]+$ ]] || die "$var (or K8S_VERSION) must be a version like v1.36.3, not '$v'"
  echo "$v"
}

# The distinct Kubernetes versions of the clusters, one a line.
cluster_versions() {
  local n
  for n in "${CLUSTERS[@]}"; do cluster_version "$n"; done | awk '!seen[$0]++'
}

# Prints one field of `go mod download -json MOD@VER`, or nothing (with go's error logged).
mod_field() {
  local j
  if ! j=$(go mod download -json "$1" 2>&1); then
    log "go mod download $1 failed: $(sed -n 's/.*"Error": "\(.*\)".*/\1/p' <<<"$j" | head -n1)"
  fi
  sed -n "s/^[[:space:]]*\"$2\": \"\([^\"]*\)\".*/\1/p" <<<"$j" | head -n1
}

build_kube() { # $1=output dir, $2...=commands of k8s.io/kubernetes/cmd to build
  local out=$1 work b missing=()
  shift
  for b in "$@"; do [[ -x $out/$b ]] || missing+=("$b"); done
  if ((${#missing[@]} == 0)); then return 0; fi
  work=$(mktemp -d "$CACHE_ROOT/tmp.kube.XXXXXX")
  log "building ${missing[*]} ${K8S_VERSION} (empty Go caches: about 8 min on 2 cores)"
  (
    cd "$work"
    local gomod sha minor sv goline godebug staging m ld p
    gomod=$(mod_field "k8s.io/kubernetes@${K8S_VERSION}" GoMod)
    [[ -f $gomod ]] || die "k8s.io/kubernetes@${K8S_VERSION} cannot be downloaded from the Go module proxy"
    sha=$(mod_field "k8s.io/kubernetes@${K8S_VERSION}" Hash)
    minor=${K8S_VERSION#v1.}
    minor=${minor%%.*}
    sv="v0.${K8S_VERSION#v1.}"
    goline=$(awk '$1=="go"{print $2; exit}' "$gomod")
    godebug=$(awk '$1=="godebug"{print $2; exit}' "$gomod")
    staging=$(sed -n 's#^[[:space:]]*\(replace[[:space:]]\{1,\}\)\{0,1\}\([^[:space:]]\{1,\}\)[[:space:]]\{1,\}=>[[:space:]]\{1,\}\./staging/src/.*#\2#p' "$gomod" | sort -u)
    [[ -n $staging ]] || die "no staging replace directives found in $gomod"
    go mod init testenv.local/kube >/dev/null 2>&1
    go mod edit -go="$goline" -require="k8s.io/kubernetes@${K8S_VERSION}"
    if [[ -n $godebug ]]; then go mod edit -godebug="$godebug"; fi
    for m in $staging; do go mod edit -replace="${m}=${m}@${sv}"; done
    {
      printf '//go:build tools\n\npackage tools\n\nimport (\n'
      for b in "${missing[@]}"; do printf '\t_ "k8s.io/kubernetes/cmd/%s"\n' "$b"; done
      printf ')\n'
    } >tools.go
    go mod tidy
    ld="-s -w"
    for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
      ld+=" -X $p.gitVersion=${K8S_VERSION} -X $p.gitMajor=1 -X $p.gitMinor=${minor}"
      ld+=" -X $p.gitCommit=${sha:-unknown} -X $p.gitTreeState=clean"
    done
    mkdir -p bin
    local pkgs=()
    for b in "${missing[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$b"); done
    go build -p 2 -trimpath -tags selinux,notest -ldflags "$ld" -o bin/ "${pkgs[@]}"
  ) || {
    rm -rf "$work"
    die "building Kubernetes ${K8S_VERSION} failed (see the go output above); another served version can be chosen with K8S_VERSION"
  }
  mkdir -p "$out"
  for b in "${missing[@]}"; do mv -f "$work/bin/$b" "$out/"; done
  rm -rf "$work"
}

build_etcd() { # $1=output dir
  local out=$1 work
  if [[ -x $out/etcd ]]; then return 0; fi
  work=$(mktemp -d "$CACHE_ROOT/tmp.etcd.XXXXXX")
  log "building etcd ${ETCD_VERSION}"
  (
    cd "$work"
    local gomod goline sha
    gomod=$(mod_field "go.etcd.io/etcd/server/v3@${ETCD_VERSION}" GoMod)
    [[ -f $gomod ]] || die "go.etcd.io/etcd/server/v3@${ETCD_VERSION} cannot be downloaded from the Go module proxy"
    goline=$(awk '$1=="go"{print $2; exit}' "$gomod")
    sha=$(mod_field "go.etcd.io/etcd/server/v3@${ETCD_VERSION}" Hash)
    go mod init testenv.local/etcd >/dev/null 2>&1
    go mod edit -go="$goline" -require="go.etcd.io/etcd/server/v3@${ETCD_VERSION}"
    printf '//go:build tools\n\npackage tools\n\nimport _ "go.etcd.io/etcd/server/v3"\n' >tools.go
    go mod tidy
    go build -trimpath -ldflags "-s -w -X go.etcd.io/etcd/api/v3/version.GitSHA=${sha:0:7}" \
      -o etcd go.etcd.io/etcd/server/v3
  ) || {
    rm -rf "$work"
    die "building etcd ${ETCD_VERSION} failed (see the go output above)"
  }
  mkdir -p "$out"
  mv -f "$work/etcd" "$out/etcd"
  rm -rf "$work"
}

# kwok, with `go install` (its go.mod has no replace directives), and the Stage files it refuses to start
# without, copied from its module so that nothing outside the cache is needed at run time.
build_kwok() { # $1=output dir
  local out=$1 work
  if kwok_cached "$out"; then return 0; fi
  work=$(mktemp -d "$CACHE_ROOT/tmp.kwok.XXXXXX")
  log "building kwok ${KWOK_VERSION} (empty Go caches: about 4 min on 2 cores)"
  (
    cd "$work"
    local src set f n
    src=$(mod_field "sigs.k8s.io/kwok@${KWOK_VERSION}" Dir)
    [[ -d $src ]] || die "sigs.k8s.io/kwok@${KWOK_VERSION} cannot be downloaded from the Go module proxy"
    mkdir -p bin stages
    for set in "${KWOK_STAGE_SETS[@]}"; do
      n=0
      for f in "$src/kustomize/stage/$set"/*.yaml; do
        [[ -f $f && ${f##*/} != kustomization.yaml ]] || continue
        cp "$f" "stages/${set//\//-}-${f##*/}"
        n=$((n + 1))
      done
      ((n > 0)) || die "sigs.k8s.io/kwok@${KWOK_VERSION} has no Stage files under kustomize/stage/$set"
    done
    chmod 644 stages/*.yaml
    GOBIN="$work/bin" go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@${KWOK_VERSION}"
  ) || {
    rm -rf "$work"
    die "building kwok ${KWOK_VERSION} failed (see the go output above)"
  }
  mkdir -p "$out"
  rm -rf "$out/stages"
  mv "$work/stages" "$out/stages"
  mv -f "$work/bin/kwok" "$out/kwok"
  rm -rf "$work"
}

# etcd and kwok do not depend on the Kubernetes version: a cache that has them for another version (same
# versions, same recipe) lends them instead of building them again.
reuse_sibling() { # $1=bin dir of the version being built
  local out=$1 other
  if [[ ! -x $out/etcd ]]; then
    for other in "$CACHE_ROOT"/bin/k8s-*-etcd-"${ETCD_VERSION}"-r"${RECIPE_REV}"/etcd; do
      [[ -x $other ]] || continue
      mkdir -p "$out"
      cp "$other" "$out/etcd.tmp" && mv -f "$out/etcd.tmp" "$out/etcd"
      log "etcd ${ETCD_VERSION} taken from ${other%/etcd}"
      break
    done
  fi
  if ! kwok_cached "$out/kwok-${KWOK_VERSION}"; then
    for other in "$CACHE_ROOT"/bin/k8s-*-etcd-"${ETCD_VERSION}"-r"${RECIPE_REV}"/kwok-"${KWOK_VERSION}"; do
      kwok_cached "$other" || continue
      rm -rf "$out/kwok-${KWOK_VERSION}.tmp"
      mkdir -p "$out"
      cp -r "$other" "$out/kwok-${KWOK_VERSION}.tmp"
      rm -rf "$out/kwok-${KWOK_VERSION}"
      mv "$out/kwok-${KWOK_VERSION}.tmp" "$out/kwok-${KWOK_VERSION}"
      log "kwok ${KWOK_VERSION} taken from ${other%/kwok-*}"
      break
    done
  fi
}

# The provisioner (tests/testenv/provisioner/), built from its own go.mod and go.sum (pinned versions).
build_provisioner() { # $1=output binary
  local out=$1 work
  if [[ -x $out ]]; then return 0; fi
  work=$(mktemp -d "$CACHE_ROOT/tmp.provisioner.XXXXXX")
  log "building the volume provisioner (sig-storage-lib-external-provisioner; empty Go caches: about 5 min on 2 cores)"
  (
    cp "$PROVISIONER_SRC/main.go" "$PROVISIONER_SRC/go.mod" "$PROVISIONER_SRC/go.sum" "$work/"
    cd "$work"
    go build -p 2 -mod=readonly -trimpath -ldflags "-s -w" -o dr-syncer-testenv-provisioner .
  ) || {
    rm -rf "$work"
    die "building the volume provisioner failed (see the go output above)"
  }
  mkdir -p "$(dirname "$out")"
  mv -f "$work/dr-syncer-testenv-provisioner" "$out"
  rm -rf "$work"
}

kube_cached() { # $1=bin dir
  [[ -x $1/etcd && -x $1/kube-apiserver && -x $1/kube-controller-manager && -x $1/kube-scheduler ]] &&
    kwok_cached "$1/kwok-${KWOK_VERSION}"
}

binaries_cached() { # $1...=Kubernetes versions
  local v
  for v in "$@"; do kube_cached "$(bin_dir "$v")" || return 1; done
  [[ -x $(provisioner_bin) ]]
}

build_version() { # $1=Kubernetes version: etcd, kube-apiserver, -controller-manager, -scheduler and kwok
  local v=$1 out t
  out=$(bin_dir "$v")
  reuse_sibling "$out"
  t=$SECONDS
  if [[ ! -x $out/etcd ]]; then build_etcd "$out" && log "etcd built in $((SECONDS - t))s"; fi
  t=$SECONDS
  if [[ ! -x $out/kube-apiserver || ! -x $out/kube-controller-manager || ! -x $out/kube-scheduler ]]; then
    (
      K8S_VERSION=$v
      build_kube "$out" kube-apiserver kube-controller-manager kube-scheduler
    ) && log "Kubernetes $v binaries built in $((SECONDS - t))s"
  fi
  t=$SECONDS
  if ! kwok_cached "$(kwok_dir "$v")"; then build_kwok "$(kwok_dir "$v")" && log "kwok built in $((SECONDS - t))s"; fi
}

take_build_lock() {
  mkdir -p "$CACHE_ROOT"
  exec 9>"$CACHE_ROOT/.build.lock"
  if ! flock -n 9; then
    log "another build holds $CACHE_ROOT/.build.lock; waiting for it"
    flock 9
  fi
}

cmd_build() { # $1...=Kubernetes versions (default: those of the clusters)
  local versions=("$@") v
  if ((${#versions[@]} == 0)); then mapfile -t versions < <(cluster_versions); fi
  if binaries_cached "${versions[@]}"; then
    for v in "${versions[@]}"; do log "binaries cached in $(bin_dir "$v")"; done
    return 0
  fi
  need go "the Kubernetes test binaries are compiled from the Go module proxy; install Go 1.26"
  need flock
  take_build_lock
  local t0=$SECONDS t
  for v in "${versions[@]}"; do build_version "$v"; done
  t=$SECONDS
  if [[ ! -x $(provisioner_bin) ]]; then
    build_provisioner "$(provisioner_bin)" && log "volume provisioner built in $((SECONDS - t))s"
  fi
  exec 9>&-
  log "binaries built in $((SECONDS - t0))s into $(for v in "${versions[@]}"; do printf '%s ' "$(bin_dir "$v")"; done)"
}

# The Kubernetes binaries of SKEW_K8S_VERSION (the provisioner, etcd and kwok too); prints the version.
cmd_build_skew() {
  cmd_build "$SKEW_K8S_VERSION" >&2
  echo "$SKEW_K8S_VERSION"
}

# ------------------------------------------------------------------ pki ----
pki() { # $1=dir: CA, serving cert, admin client cert, service-account key pair, token file
  local d=$1
  newkey() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
  newkey "$d/ca.key"
  openssl req -x509 -new -key "$d/ca.key" -sha256 -days 3650 -out "$d/ca.crt" \
    -config <(printf '[req]\ndistinguished_name=dn\nprompt=no\n[dn]\nCN=dr-syncer-testenv-ca\n[ext]\nbasicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign,digitalSignature\nsubjectKeyIdentifier=hash\n') \
    -extensions ext 2>/dev/null
  leaf() { # name subject eku [san]
    newkey "$d/$1.key"
    {
      echo "basicConstraints=CA:FALSE"
      echo "keyUsage=critical,digitalSignature"
      echo "extendedKeyUsage=$3"
      if [[ -n ${4:-} ]]; then echo "subjectAltName=$4"; fi
    } >"$d/$1.ext"
    openssl req -new -key "$d/$1.key" -subj "$2" -out "$d/$1.csr" 2>/dev/null
    openssl x509 -req -in "$d/$1.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -CAcreateserial -CAserial "$d/ca.srl" \
      -days 3650 -sha256 -extfile "$d/$1.ext" -out "$d/$1.crt" 2>/dev/null
    rm -f "$d/$1.csr" "$d/$1.ext"
  }
  leaf apiserver "/CN=kube-apiserver" serverAuth "IP:127.0.0.1,DNS:localhost"
  leaf admin "/O=system:masters/CN=testenv-admin" clientAuth
  newkey "$d/sa.key"
  openssl pkey -in "$d/sa.key" -pubout -out "$d/sa.pub" 2>/dev/null
  # An admin token and a token whose user has no RBAC rights at all (for 403 tests).
  printf '%s,testenv-token-admin,testenv-token-admin,"system:masters"\n%s,testenv-norights,testenv-norights\n' \
    "$(openssl rand -hex 24)" "$(openssl rand -hex 24)" >"$d/tokens.csv"
  chmod 600 "$d"/*.key "$d/tokens.csv"
}

kubeconfig() { # $1=name $2=port $3=dir: a self-contained kubeconfig with contexts NAME and NAME-norights
  local n=$1 p=$2 d=$3
  cat <<KC
apiVersion: v1
kind: Config
clusters:
- name: $n
  cluster:
    server: https://127.0.0.1:$p
    certificate-authority-data: $(base64 -w0 <"$d/ca.crt")
users:
- name: $n-admin
  user:
    client-certificate-data: $(base64 -w0 <"$d/admin.crt")
    client-key-data: $(base64 -w0 <"$d/admin.key")
- name: $n-norights
  user:
    token: $(sed -n 2p "$d/tokens.csv" | cut -d, -f1)
contexts:
- name: $n
  context: {cluster: $n, user: $n-admin, namespace: default}
- name: $n-norights
  context: {cluster: $n, user: $n-norights, namespace: default}
current-context: $n
preferences: {}
KC
}

# ------------------------------------------------------------ processes ----
USED_PORTS=" "
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
pick_port() { # $1=variable: a free loopback port below the ephemeral range, not handed out twice in one run
  # (sets the variable instead of printing: a command substitution would run in a subshell and lose USED_PORTS)
  local _pp _i
  for _i in $(seq 1 500); do
    _pp=$((20000 + RANDOM % 12000))
    [[ $USED_PORTS == *" $_pp "* ]] && continue
    if port_free "$_pp"; then
      USED_PORTS+="$_pp "
      printf -v "$1" '%s' "$_pp"
      return 0
    fi
  done
  die "no free port found on 127.0.0.1"
}

spawn() { # $1=pidfile $2=logfile cmd...
  local pidf=$1 logf=$2
  shift 2
  setsid nohup "$@" >"$logf" 2>&1 </dev/null &
  echo $! >"$pidf"
}

alive() { # $1=pidfile $2=binary name: true only for a process we started that still runs that binary
  local p
  [[ -f $1 ]] || return 1
  p=$(<"$1")
  kill -0 "$p" 2>/dev/null && tr '\0' ' ' </proc/"$p"/cmdline 2>/dev/null | grep -qF -- "$2"
}

stop_pids() { # pidfile:binary...: TERM those that run, give them 10 s together, KILL the rest; remove the pid files
  local entry p _ pids=() left
  for entry in "$@"; do
    if alive "${entry%%:*}" "${entry#*:}"; then
      p=$(<"${entry%%:*}")
      kill -TERM "$p" 2>/dev/null || true
      pids+=("$p")
    fi
  done
  for _ in $(seq 1 100); do
    left=()
    for p in "${pids[@]}"; do if kill -0 "$p" 2>/dev/null; then left+=("$p"); fi; done
    pids=("${left[@]}")
    ((${#pids[@]})) || break
    sleep 0.1
  done
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  for entry in "$@"; do rm -f "${entry%%:*}"; done
}

stop_pid() { stop_pids "$1:$2"; } # $1=pidfile $2=binary name

wait_for() { # $1=description $2=pidfile $3=logfile cmd...: poll until cmd succeeds
  local desc=$1 pidf=$2 logf=$3 deadline=$((SECONDS + START_TIMEOUT))
  shift 3
  until "$@" >/dev/null 2>&1; do
    if ! kill -0 "$(<"$pidf")" 2>/dev/null; then
      tail -n 20 "$logf" >&2
      if grep -qiE 'address already in use|bind: ' "$logf"; then die "$desc could not bind its port (port clash; see $logf)"; fi
      die "$desc exited during start-up (log: $logf)"
    fi
    if ((SECONDS >= deadline)); then
      tail -n 20 "$logf" >&2
      die "$desc not ready after ${START_TIMEOUT}s (log: $logf)"
    fi
    sleep 0.25
  done
}

# The processes of one cluster, in the order `down` stops them: pid file name and the binary it must run.
# CORE_PROCS are the cluster itself; ADDON_PROCS run beside it and can be started on a running cluster
# (clusters started before the provisioner existed get it from the next `up`, without a restart).
CORE_PROCS=(kwok:kwok scheduler:kube-scheduler kcm:kube-controller-manager apiserver:kube-apiserver etcd:etcd)
ADDON_PROCS=(provisioner:dr-syncer-testenv-provisioner)
PROCS=("${ADDON_PROCS[@]}" "${CORE_PROCS[@]}")

node_json() { # $1=name $2=internal IP: a fake Node that kwok manages (annotation) with room for many pods
  cat <<NODE
{"apiVersion":"v1","kind":"Node","metadata":{"name":"$1",
 "annotations":{"kwok.x-k8s.io/node":"fake"},
 "labels":{"type":"kwok","kubernetes.io/hostname":"$1","kubernetes.io/os":"linux","kubernetes.io/arch":"amd64",
  "kubernetes.io/role":"agent","node-role.kubernetes.io/agent":""}},
 "spec":{},
 "status":{"allocatable":{"cpu":"64","memory":"256Gi","pods":"1000","ephemeral-storage":"1Ti"},
  "capacity":{"cpu":"64","memory":"256Gi","pods":"1000","ephemeral-storage":"1Ti"},
  "addresses":[{"type":"InternalIP","address":"$2"},{"type":"Hostname","address":"$1"}],
  "nodeInfo":{"architecture":"amd64","operatingSystem":"linux","osImage":"kwok fake node"}}}
NODE
}

# True when at least $3 fake nodes are Ready and none has a taint left (the node lifecycle controller removes
# the not-ready taint the API server puts on a new node once kwok reports it Ready).
nodes_ready() { # $1=dir $2=port $3=count
  local d=$1 j
  j=$(curl -fsS --max-time 5 --cacert "$d/ca.crt" --cert "$d/admin.crt" --key "$d/admin.key" \
    "https://127.0.0.1:$2/api/v1/nodes?labelSelector=type%3Dkwok") || return 1
  j=$(tr -d '[:space:]' <<<"$j") # the API server pretty-prints for curl
  (($(grep -o '"type":"Ready","status":"True"' <<<"$j" | wc -l) >= $3)) && ! grep -q '"taints"' <<<"$j"
}

# The default StorageClass, served by the provisioner. WaitForFirstConsumer, as kind's "standard" (rancher's
# local-path-provisioner) and the default classes of the big clouds: a claim stays Pending until a pod that
# mounts it is scheduled, then gets a volume on that pod's node. No volume expansion (hostPath cannot grow).
storage_class_json() {
  cat <<SC
{"apiVersion":"storage.k8s.io/v1","kind":"StorageClass",
 "metadata":{"name":"$DEFAULT_STORAGE_CLASS","annotations":{"storageclass.kubernetes.io/is-default-class":"true"},
  "labels":{"app.kubernetes.io/managed-by":"dr-syncer-testenv"}},
 "provisioner":"$PROVISIONER_NAME","reclaimPolicy":"Delete","volumeBindingMode":"WaitForFirstConsumer"}
SC
}

apply_storage_class() { # $1=cluster dir $2=API server port: server-side apply, a no-op when unchanged
  local d=$1
  storage_class_json | curl -fsS --max-time 10 --cacert "$d/ca.crt" --cert "$d/admin.crt" --key "$d/admin.key" \
    -X PATCH -H 'Content-Type: application/apply-patch+yaml' --data-binary @- \
    "https://127.0.0.1:$2/apis/storage.k8s.io/v1/storageclasses/$DEFAULT_STORAGE_CLASS?fieldManager=dr-syncer-testenv&force=true" \
    >/dev/null
}

spawn_provisioner() { # $1=name: the cluster's provisioner, its volumes' folders under <cluster dir>/volumes
  local d="$STATE_DIR/$1"
  mkdir -p "$d/volumes"
  spawn "$d/provisioner.pid" "$d/provisioner.log" "$(provisioner_bin)" \
    --kubeconfig="$STATE_DIR/$1.kubeconfig" --provisioner="$PROVISIONER_NAME" --root="$d/volumes" -v=1
}

# The provisioner has listed claims, volumes and classes and runs its workers.
provisioner_ready() { grep -q 'Started provisioner controller' "$1"; }

start_cluster() { # $1=name $2=index $3=etcd client port $4=etcd peer port $5=API server port
  local name=$1 i=$2 eport=$3 pport=$4 aport=$5 d="$STATE_DIR/$1" bins kw version t0=$SECONDS
  # keys, tokens and kubeconfigs are born owner-only (a chmod afterwards leaves a moment they are not)
  umask 077
  version=$(cluster_version "$name")
  bins=$(bin_dir "$version")
  kw=$(kwok_dir "$version")
  mkdir -p "$d/etcd-data" "$d/certs" "$d/kwok"
  chmod 700 "$d" "$d/etcd-data"
  pki "$d"
  spawn "$d/etcd.pid" "$d/etcd.log" "$bins/etcd" --name="$name" --data-dir="$d/etcd-data" \
    --listen-client-urls="http://127.0.0.1:$eport" --advertise-client-urls="http://127.0.0.1:$eport" \
    --listen-peer-urls="http://127.0.0.1:$pport" --initial-advertise-peer-urls="http://127.0.0.1:$pport" \
    --initial-cluster="$name=http://127.0.0.1:$pport" --log-level=warn --unsafe-no-fsync=true \
    --quota-backend-bytes=4294967296
  wait_for "etcd of cluster $name" "$d/etcd.pid" "$d/etcd.log" \
    sh -c "curl -fsS http://127.0.0.1:$eport/health | grep -q '\"health\":\"true\"'"

  spawn "$d/apiserver.pid" "$d/apiserver.log" "$bins/kube-apiserver" \
    --etcd-servers="http://127.0.0.1:$eport" --bind-address=127.0.0.1 --secure-port="$aport" \
    --advertise-address=127.0.0.1 --endpoint-reconciler-type=none \
    --cert-dir="$d/certs" --tls-cert-file="$d/apiserver.crt" --tls-private-key-file="$d/apiserver.key" \
    --client-ca-file="$d/ca.crt" --token-auth-file="$d/tokens.csv" --authorization-mode=RBAC \
    --service-account-issuer="https://127.0.0.1:$aport" \
    --service-account-key-file="$d/sa.pub" --service-account-signing-key-file="$d/sa.key" \
    --service-cluster-ip-range="10.$((95 + i)).0.0/16" --service-node-port-range=30000-32767 \
    --allow-privileged=true --profiling=false --max-requests-inflight=1000 \
    --max-mutating-requests-inflight=500 -v=1 ${APISERVER_ARGS[@]+"${APISERVER_ARGS[@]}"}
  local auth=(--cacert "$d/ca.crt" --cert "$d/admin.crt" --key "$d/admin.key")
  wait_for "kube-apiserver of cluster $name" "$d/apiserver.pid" "$d/apiserver.log" \
    curl -fsS "${auth[@]}" "https://127.0.0.1:$aport/readyz"
  wait_for "default namespace of cluster $name" "$d/apiserver.pid" "$d/apiserver.log" \
    curl -fsS "${auth[@]}" "https://127.0.0.1:$aport/api/v1/namespaces/default"
  kubeconfig "$name" "$aport" "$d" >"$STATE_DIR/$name.kubeconfig"
  chmod 600 "$STATE_DIR/$name.kubeconfig"

  # The three clients of the API server start together; none of them serves a port.
  spawn "$d/kcm.pid" "$d/kcm.log" "$bins/kube-controller-manager" --kubeconfig="$STATE_DIR/$name.kubeconfig" \
    --leader-elect=false --secure-port=0 --controllers="$KCM_CONTROLLERS" \
    --service-account-private-key-file="$d/sa.key" --root-ca-file="$d/ca.crt" \
    --cluster-signing-cert-file="$d/ca.crt" --cluster-signing-key-file="$d/ca.key" \
    --use-service-account-credentials=false --concurrent-gc-syncs=5 --pvclaimbinder-sync-period=1s \
    --kube-api-qps=100 --kube-api-burst=200 -v=1
  spawn "$d/scheduler.pid" "$d/scheduler.log" "$bins/kube-scheduler" --kubeconfig="$STATE_DIR/$name.kubeconfig" \
    --leader-elect=false --secure-port=0 -v=1
  local configs=() f
  for f in "$kw"/stages/*.yaml; do configs+=(--config="$f"); done
  # KWOK_WORKDIR: kwok would otherwise also read ~/.kwok/kwok.yaml. No --server-address and no --node-port:
  # kwok serves no port (that server is only for logs/exec/port-forward of fake pods).
  spawn "$d/kwok.pid" "$d/kwok.log" env KWOK_WORKDIR="$d/kwok" "$kw/kwok" \
    --kubeconfig="$STATE_DIR/$name.kubeconfig" "${configs[@]}" \
    --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake --cidr="10.$((200 + i)).0.0/17"
  spawn_provisioner "$name"
  apply_storage_class "$d" "$aport" || die "could not create the StorageClass $DEFAULT_STORAGE_CLASS in cluster $name"

  local n node
  for ((n = 0; n < NODES_PER_CLUSTER; n++)); do
    node=kwok-node-$n
    # 127.0.0.1: a host-network pod's IP is its node's address, so pvc-sync reaches the agent process that
    # a test runs on this machine for that node (each on its own port, named in its pod)
    node_json "$node" "127.0.0.1" |
      curl -fsS "${auth[@]}" -X POST -H 'Content-Type: application/json' --data-binary @- \
        "https://127.0.0.1:$aport/api/v1/nodes" >/dev/null || die "could not create node $node in cluster $name"
  done
  wait_for "kube-controller-manager of cluster $name" "$d/kcm.pid" "$d/kcm.log" \
    curl -fsS "${auth[@]}" "https://127.0.0.1:$aport/api/v1/namespaces/default/serviceaccounts/default"
  if ((NODES_PER_CLUSTER > 0)); then
    wait_for "kwok of cluster $name (fake nodes Ready and untainted)" "$d/kwok.pid" "$d/kwok.log" \
      nodes_ready "$d" "$aport" "$NODES_PER_CLUSTER"
  fi
  wait_for "the volume provisioner of cluster $name" "$d/provisioner.pid" "$d/provisioner.log" \
    provisioner_ready "$d/provisioner.log"
  local proc
  for proc in "${PROCS[@]}"; do
    if ! alive "$d/${proc%%:*}.pid" "${proc#*:}"; then
      tail -n 20 "$d/${proc%%:*}.log" >&2
      die "${proc#*:} of cluster $name exited during start-up (log: $d/${proc%%:*}.log)"
    fi
  done
  echo "$version" >"$d/version"
  echo "$aport" >"$d/port"
  log "cluster $name ready in $((SECONDS - t0))s at https://127.0.0.1:$aport" \
    "(Kubernetes $version, $NODES_PER_CLUSTER fake nodes, default StorageClass $DEFAULT_STORAGE_CLASS;" \
    "kubeconfig: $STATE_DIR/$name.kubeconfig)"
}

# kubectl, for the benchmark's "by hand" baseline only; prints its path.
cmd_build_kubectl() {
  local out
  out=$(bin_dir)
  if [[ ! -x $out/kubectl ]]; then
    need go "kubectl is compiled from the Go module proxy; install Go 1.26"
    mkdir -p "$CACHE_ROOT"
    exec 9>"$CACHE_ROOT/.build.lock"
    flock 9
    build_kube "$out" kubectl
    exec 9>&-
  fi
  echo "$out/kubectl"
}

# Helm, for the tests that run real Helm against the clusters; prints its path. A plain `go install` of the
# published module (no replacements); the version is stamped so `helm version` names it.
cmd_build_helm() {
  local out="$CACHE_ROOT/bin/helm-$HELM_VERSION" t=$SECONDS
  if [[ ! -x $out/helm ]]; then
    need go "Helm is compiled from the Go module proxy; install Go 1.26"
    mkdir -p "$CACHE_ROOT"
    exec 9>"$CACHE_ROOT/.build.lock"
    flock 9
    if [[ ! -x $out/helm ]]; then
      log "building helm $HELM_VERSION (cold: about 6 min on 2 cores)"
      mkdir -p "$out.tmp"
      GOBIN="$out.tmp" go install -trimpath \
        -ldflags "-s -w -X helm.sh/helm/v4/internal/version.version=$HELM_VERSION" \
        "helm.sh/helm/v4/cmd/helm@$HELM_VERSION" >&2 || die "building helm $HELM_VERSION failed"
      rm -rf "$out" && mv "$out.tmp" "$out"
      log "helm built in $((SECONDS - t))s"
    fi
    exec 9>&-
  fi
  echo "$out/helm"
}

cluster_up() { # $1=name: the cluster's own processes alive and /readyz answers
  local d="$STATE_DIR/$1" proc
  for proc in "${CORE_PROCS[@]}"; do alive "$d/${proc%%:*}.pid" "${proc#*:}" || return 1; done
  [[ -f $d/port ]] &&
    curl -fsS --max-time 5 --cacert "$d/ca.crt" --cert "$d/admin.crt" --key "$d/admin.key" \
      "https://127.0.0.1:$(<"$d/port")/readyz" >/dev/null 2>&1
}

addons_up() { # $1=name: the processes beside the cluster alive
  local d="$STATE_DIR/$1" proc
  for proc in "${ADDON_PROCS[@]}"; do alive "$d/${proc%%:*}.pid" "${proc#*:}" || return 1; done
}

# The version cluster $1 runs, when it differs from the one asked for (nothing otherwise). A cluster
# started before versions were recorded runs K8S_VERSION's binaries.
other_version() {
  local d="$STATE_DIR/$1" running
  running=$(cat "$d/version" 2>/dev/null || echo "$K8S_VERSION")
  if [[ $running != "$(cluster_version "$1")" ]]; then echo "$running"; fi
}

# Starts the provisioner of running clusters that lack it (built first if need be), without restarting them.
start_addons() { # $1...=names
  local n d
  if [[ ! -x $(provisioner_bin) ]]; then
    need go "the volume provisioner is compiled from the Go module proxy; install Go 1.26"
    need flock
    take_build_lock
    [[ -x $(provisioner_bin) ]] || build_provisioner "$(provisioner_bin)"
    exec 9>&-
  fi
  umask 077
  for n in "$@"; do
    d="$STATE_DIR/$n"
    stop_pid "$d/provisioner.pid" dr-syncer-testenv-provisioner
    spawn_provisioner "$n"
    wait_for "the volume provisioner of cluster $n" "$d/provisioner.pid" "$d/provisioner.log" \
      provisioner_ready "$d/provisioner.log"
    log "cluster $n: volume provisioner started (the cluster itself kept running)"
  done
}

cmd_up() {
  need curl
  need openssl
  need base64
  need setsid
  [[ $NODES_PER_CLUSTER =~ ^[0-9]+$ ]] || die "DR_SYNCER_TESTENV_NODES must be a number, not '$NODES_PER_CLUSTER'"
  ((${#CLUSTERS[@]} <= 50)) || die "at most 50 clusters (their address ranges are numbered)"
  local n all=1 other missing=()
  for n in "${CLUSTERS[@]}"; do
    if ! cluster_up "$n"; then
      all=0
    else
      other=$(other_version "$n")
      if [[ -n $other ]]; then
        log "cluster $n runs Kubernetes $other, $(cluster_version "$n") is asked for: starting the clusters anew"
        all=0
      fi
    fi
  done
  if ((all)); then
    for n in "${CLUSTERS[@]}"; do addons_up "$n" || missing+=("$n"); done
    if ((${#missing[@]})); then start_addons "${missing[@]}"; fi
    for n in "${CLUSTERS[@]}"; do
      apply_storage_class "$STATE_DIR/$n" "$(<"$STATE_DIR/$n/port")" ||
        die "could not create the StorageClass $DEFAULT_STORAGE_CLASS in cluster $n"
    done
    log "already running: ${CLUSTERS[*]} (kubeconfigs in $STATE_DIR)"
    return 0
  fi
  cmd_down quiet
  cmd_build
  local t0=$SECONDS i=0 eport pport aport pids=() failed=()
  mkdir -p "$STATE_DIR"
  chmod 700 "$STATE_DIR"
  # All ports are picked here, before the clusters start side by side in subshells that do not share
  # USED_PORTS; each cluster then binds exactly the three ports it was given.
  for n in "${CLUSTERS[@]}"; do
    i=$((i + 1))
    pick_port eport
    pick_port pport
    pick_port aport
    start_cluster "$n" "$i" "$eport" "$pport" "$aport" &
    pids+=($!)
  done
  i=0
  for n in "${CLUSTERS[@]}"; do
    wait "${pids[$i]}" || failed+=("$n")
    i=$((i + 1))
  done
  if ((${#failed[@]})); then
    die "cluster(s) ${failed[*]} did not start (see above); \"deno task testenv down\" stops what did"
  fi
  log "clusters ${CLUSTERS[*]} started in $((SECONDS - t0))s"
}

cmd_down() {
  local n d pid pids=() stopped=0
  [[ -d $STATE_DIR ]] || return 0
  for n in "${CLUSTERS[@]}"; do
    d="$STATE_DIR/$n"
    [[ -d $d ]] || continue
    # Side by side for all clusters; in each, the API server's clients first, then the API server, then etcd.
    (
      stop_pids "$d/provisioner.pid:dr-syncer-testenv-provisioner" "$d/kwok.pid:kwok" \
        "$d/scheduler.pid:kube-scheduler" "$d/kcm.pid:kube-controller-manager"
      stop_pids "$d/apiserver.pid:kube-apiserver"
      stop_pids "$d/etcd.pid:etcd"
    ) &
    pids+=($!)
    stopped=1
  done
  for pid in "${pids[@]}"; do wait "$pid" || true; done
  for n in "${CLUSTERS[@]}"; do rm -rf "${STATE_DIR:?}/$n" "$STATE_DIR/$n.kubeconfig"; done
  rmdir "$STATE_DIR" 2>/dev/null || true
  if ((stopped)) && [[ ${1:-} != quiet ]]; then log "stopped ${CLUSTERS[*]} and removed their state"; fi
}

# Exit code 0: every cluster runs with its provisioner; 1: a cluster is stopped, broken or runs another
# Kubernetes version than asked (`up` starts them anew); 3: every cluster runs but a provisioner does not
# (`up` starts it and leaves the clusters running).
cmd_status() {
  local n d rc=0 proc pids other version
  for n in "${CLUSTERS[@]}"; do
    d="$STATE_DIR/$n"
    if cluster_up "$n"; then
      pids=""
      for proc in "${PROCS[@]}"; do
        if alive "$d/${proc%%:*}.pid" "${proc#*:}"; then pids+=", ${proc#*:} $(<"$d/${proc%%:*}.pid")"; fi
      done
      version=$(cat "$d/version" 2>/dev/null || echo "$K8S_VERSION")
      printf '%-7s running  https://127.0.0.1:%s  %s  pids: %s\n' "$n" "$(<"$d/port")" "$version" "${pids#, }"
      other=$(other_version "$n")
      if [[ -n $other ]]; then
        printf '%-7s          runs %s, but %s is asked for: "up" starts the clusters anew\n' "" "$other" \
          "$(cluster_version "$n")"
        rc=1
      elif ! addons_up "$n"; then
        printf '%-7s          its volume provisioner is not running: "up" starts it (the cluster keeps running)\n' ""
        ((rc == 1)) || rc=3
      fi
    elif [[ -d $d ]]; then
      pids=""
      for proc in "${CORE_PROCS[@]}"; do alive "$d/${proc%%:*}.pid" "${proc#*:}" || pids+=", ${proc#*:}"; done
      if [[ -n $pids ]]; then pids="not running: ${pids#, }"; else pids="its API server does not answer"; fi
      printf '%-7s broken   %s; run "deno task testenv down" then "up"\n' "$n" "$pids"
      rc=1
    else
      printf '%-7s stopped\n' "$n"
      rc=1
    fi
  done
  local v out
  while read -r v; do
    out=$(bin_dir "$v")
    if binaries_cached "$v"; then echo "binaries: $out"; else echo "binaries: not all built yet ($out)"; fi
  done < <(cluster_versions)
  return $rc
}

usage() { # the header comment
  awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"
}

# Every cluster's version is checked here, where a bad one can stop the script (not in a subshell).
for _n in "${CLUSTERS[@]}"; do cluster_version "$_n" >/dev/null; done
[[ $SKEW_K8S_VERSION =~ ^v1\.[0-9]+\.[0-9]+$ ]] || die "SKEW_K8S_VERSION must be a version like v1.34.4"

case ${1:-} in
build) cmd_build ;;
build-skew) cmd_build_skew ;;
build-kubectl) cmd_build_kubectl ;;
build-helm) cmd_build_helm ;;
up | ensure) cmd_up ;;
down) cmd_down ;;
status) cmd_status ;;
-h | --help | help) usage ;;
*)
  usage >&2
  exit 2
  ;;
esac
