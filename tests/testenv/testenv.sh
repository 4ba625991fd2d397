#!/usr/bin/env bash
# testenv.sh - two real Kubernetes clusters ("source" and "dr") on 127.0.0.1, without Docker.
#
# Each cluster runs an etcd, a kube-apiserver, a kube-controller-manager with every controller that works
# without a cloud (Deployments, ReplicaSets, StatefulSets, DaemonSets, Jobs, CronJobs, garbage collection,
# PV binding, endpoints, quotas, node lifecycle, ...), a real kube-scheduler, and KWOK, which simulates
# the kubelets of two fake Nodes (kwok-node-0, kwok-node-1): pods are scheduled onto them and become
# Running and Ready, Job pods complete, deleted pods go away. No container ever runs and no volume is
# mounted. kube-apiserver, kube-controller-manager and kube-scheduler are compiled from the Go module
# k8s.io/kubernetes, etcd from go.etcd.io/etcd/server/v3 and kwok from sigs.k8s.io/kwok (its Stage
# files are copied beside it), once, into a version-keyed cache outside the repository.
#
#   testenv.sh build    build the binaries (no-op when cached)
#   testenv.sh build-kubectl   build kubectl too (benchmarks, the CRD tests); prints its path
#   testenv.sh build-helm      build Helm (HELM_VERSION, v4.3.2; the Helm tests); prints its path
#   testenv.sh up       start the clusters side by side; write .testenv/{source,dr}.kubeconfig
#   testenv.sh down     stop exactly what `up` started and remove its state
#   testenv.sh status   say what runs
#   testenv.sh ensure   `up` unless the clusters already answer
#
# Environment: K8S_VERSION (v1.36.3)  ETCD_VERSION (v3.6.16)  KWOK_VERSION (v0.8.0)
#   DR_SYNCER_TESTENV_CACHE (~/.cache/dr-syncer-testenv)  DR_SYNCER_TESTENV_DIR (<repo>/.testenv)
#   DR_SYNCER_TESTENV_CLUSTERS ("source dr": the names of the clusters)  START_TIMEOUT (seconds, 120)
#   DR_SYNCER_TESTENV_NODES (fake nodes per cluster, 2)
#   DR_SYNCER_TESTENV_APISERVER_ARGS (more kube-apiserver flags, appended: they win over the defaults)
# More in docs/testenv.md.
set -Eeuo pipefail

K8S_VERSION=${K8S_VERSION:-v1.36.3}
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

export GOTOOLCHAIN="${GOTOOLCHAIN:-local}" GOWORK=off GOFLAGS='' CGO_ENABLED=0

log() { printf '[testenv] %s\n' "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}
need() { command -v "$1" >/dev/null 2>&1 || die "$1 is not installed${2:+: $2}"; }

go_key() { echo "$(go env GOVERSION)-$(go env GOOS)-$(go env GOARCH)-r${RECIPE_REV}"; }
bin_dir() { echo "$CACHE_ROOT/bin/k8s-${K8S_VERSION}-etcd-${ETCD_VERSION}-r${RECIPE_REV}"; }
kwok_dir() { echo "$(bin_dir)/kwok-${KWOK_VERSION}"; } # kwok and its Stage files, keyed by their version
kwok_cached() { [[ -x $1/kwok ]] && compgen -G "$1/stages/*.yaml" >/dev/null; }

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
  log "building ${missing[*]} ${K8S_VERSION} (cold: 15-30 min on 2 cores; with Go's build cache warm, minutes)"
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
  log "building kwok ${KWOK_VERSION} (cold: about 5 min on 2 cores; with Go's build cache warm, 1-2 min)"
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

binaries_cached() { # $1=bin dir
  [[ -x $1/etcd && -x $1/kube-apiserver && -x $1/kube-controller-manager && -x $1/kube-scheduler ]] &&
    kwok_cached "$(kwok_dir)"
}

cmd_build() {
  local out
  out=$(bin_dir)
  if binaries_cached "$out"; then
    log "binaries cached in $out"
    return 0
  fi
  need go "the Kubernetes test binaries are compiled from the Go module proxy; install Go 1.26"
  need flock
  mkdir -p "$CACHE_ROOT"
  exec 9>"$CACHE_ROOT/.build.lock"
  if ! flock -n 9; then
    log "another build holds $CACHE_ROOT/.build.lock; waiting for it"
    flock 9
  fi
  local t0=$SECONDS t
  t=$SECONDS
  if [[ ! -x $out/etcd ]]; then build_etcd "$out" && log "etcd built in $((SECONDS - t))s"; fi
  t=$SECONDS
  if [[ ! -x $out/kube-apiserver || ! -x $out/kube-controller-manager || ! -x $out/kube-scheduler ]]; then
    build_kube "$out" kube-apiserver kube-controller-manager kube-scheduler && log "Kubernetes binaries built in $((SECONDS - t))s"
  fi
  t=$SECONDS
  if ! kwok_cached "$(kwok_dir)"; then build_kwok "$(kwok_dir)" && log "kwok built in $((SECONDS - t))s"; fi
  exec 9>&-
  log "binaries built in $((SECONDS - t0))s into $out"
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
PROCS=(kwok:kwok scheduler:kube-scheduler kcm:kube-controller-manager apiserver:kube-apiserver etcd:etcd)

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

start_cluster() { # $1=name $2=index $3=etcd client port $4=etcd peer port $5=API server port
  local name=$1 i=$2 eport=$3 pport=$4 aport=$5 d="$STATE_DIR/$1" bins kw t0=$SECONDS
  # keys, tokens and kubeconfigs are born owner-only (a chmod afterwards leaves a moment they are not)
  umask 077
  bins=$(bin_dir)
  kw=$(kwok_dir)
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
  local proc
  for proc in "${PROCS[@]}"; do
    if ! alive "$d/${proc%%:*}.pid" "${proc#*:}"; then
      tail -n 20 "$d/${proc%%:*}.log" >&2
      die "${proc#*:} of cluster $name exited during start-up (log: $d/${proc%%:*}.log)"
    fi
  done
  echo "$aport" >"$d/port"
  log "cluster $name ready in $((SECONDS - t0))s at https://127.0.0.1:$aport" \
    "($NODES_PER_CLUSTER fake nodes; kubeconfig: $STATE_DIR/$name.kubeconfig)"
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

cluster_up() { # $1=name: all its processes alive and /readyz answers
  local d="$STATE_DIR/$1" proc
  for proc in "${PROCS[@]}"; do alive "$d/${proc%%:*}.pid" "${proc#*:}" || return 1; done
  [[ -f $d/port ]] &&
    curl -fsS --max-time 5 --cacert "$d/ca.crt" --cert "$d/admin.crt" --key "$d/admin.key" \
      "https://127.0.0.1:$(<"$d/port")/readyz" >/dev/null 2>&1
}

cmd_up() {
  need curl
  need openssl
  need base64
  need setsid
  [[ $NODES_PER_CLUSTER =~ ^[0-9]+$ ]] || die "DR_SYNCER_TESTENV_NODES must be a number, not '$NODES_PER_CLUSTER'"
  ((${#CLUSTERS[@]} <= 50)) || die "at most 50 clusters (their address ranges are numbered)"
  local n all=1
  for n in "${CLUSTERS[@]}"; do cluster_up "$n" || all=0; done
  if ((all)); then
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
      stop_pids "$d/kwok.pid:kwok" "$d/scheduler.pid:kube-scheduler" "$d/kcm.pid:kube-controller-manager"
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

cmd_status() {
  local n d rc=0 proc pids
  for n in "${CLUSTERS[@]}"; do
    d="$STATE_DIR/$n"
    if cluster_up "$n"; then
      pids=""
      for proc in "${PROCS[@]}"; do pids+=", ${proc#*:} $(<"$d/${proc%%:*}.pid")"; done
      printf '%-7s running  https://127.0.0.1:%s  pids: %s\n' "$n" "$(<"$d/port")" "${pids#, }"
    elif [[ -d $d ]]; then
      pids=""
      for proc in "${PROCS[@]}"; do alive "$d/${proc%%:*}.pid" "${proc#*:}" || pids+=", ${proc#*:}"; done
      if [[ -n $pids ]]; then pids="not running: ${pids#, }"; else pids="its API server does not answer"; fi
      printf '%-7s broken   %s; run "deno task testenv down" then "up"\n' "$n" "$pids"
      rc=1
    else
      printf '%-7s stopped\n' "$n"
      rc=1
    fi
  done
  local out
  out=$(bin_dir)
  if binaries_cached "$out"; then echo "binaries: $out"; else echo "binaries: not all built yet ($out)"; fi
  return $rc
}

usage() { # the header comment
  awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"
}

case ${1:-} in
build) cmd_build ;;
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
