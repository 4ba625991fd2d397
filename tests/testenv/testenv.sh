#!/usr/bin/env bash
# testenv.sh - two real Kubernetes clusters ("source" and "dr") on 127.0.0.1, without Docker.
#
# kube-apiserver and kube-controller-manager are compiled from the Go module k8s.io/kubernetes,
# etcd from go.etcd.io/etcd/server/v3, once, into a version-keyed cache outside the repository.
#
#   testenv.sh build    build the binaries (no-op when cached)
#   testenv.sh build-kubectl   build kubectl too (for the benchmarks); prints its path
#   testenv.sh up       start both clusters; write .testenv/{source,dr}.kubeconfig
#   testenv.sh down     stop exactly what `up` started and remove its state
#   testenv.sh status   say what runs
#   testenv.sh ensure   `up` unless both clusters already answer
#
# Environment: K8S_VERSION (v1.36.3)  ETCD_VERSION (v3.6.16)
#   DR_SYNCER_TESTENV_CACHE (~/.cache/dr-syncer-testenv)  DR_SYNCER_TESTENV_DIR (<repo>/.testenv)
#   DR_SYNCER_TESTENV_CLUSTERS ("source dr": the names of the clusters)  START_TIMEOUT (seconds, 120)
set -Eeuo pipefail

K8S_VERSION=${K8S_VERSION:-v1.36.3}
ETCD_VERSION=${ETCD_VERSION:-v3.6.16}
RECIPE_REV=1 # bump when the build recipe changes: a new cache key
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CACHE_ROOT=${DR_SYNCER_TESTENV_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/dr-syncer-testenv}
STATE_DIR=${DR_SYNCER_TESTENV_DIR:-$REPO_ROOT/.testenv}
START_TIMEOUT=${START_TIMEOUT:-120}
read -r -a CLUSTERS <<<"${DR_SYNCER_TESTENV_CLUSTERS:-source dr}"
KCM_CONTROLLERS=namespace-controller,persistentvolume-binder-controller,garbage-collector-controller,serviceaccount-controller,serviceaccount-token-controller,root-ca-certificate-publisher-controller,persistentvolumeclaim-protection-controller,persistentvolume-protection-controller

export GOTOOLCHAIN="${GOTOOLCHAIN:-local}" GOWORK=off GOFLAGS='' CGO_ENABLED=0

log() { printf '[testenv] %s\n' "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}
need() { command -v "$1" >/dev/null 2>&1 || die "$1 is not installed${2:+: $2}"; }

go_key() { echo "$(go env GOVERSION)-$(go env GOOS)-$(go env GOARCH)-r${RECIPE_REV}"; }
bin_dir() { echo "$CACHE_ROOT/bin/k8s-${K8S_VERSION}-etcd-${ETCD_VERSION}-r${RECIPE_REV}"; }

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

cmd_build() {
  local out
  out=$(bin_dir)
  if [[ -x $out/etcd && -x $out/kube-apiserver && -x $out/kube-controller-manager ]]; then
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
  local t0=$SECONDS
  build_etcd "$out"
  build_kube "$out" kube-apiserver kube-controller-manager
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
pick_port() { # a free loopback port below the ephemeral range, not handed out twice in one run
  local p _
  for _ in $(seq 1 500); do
    p=$((20000 + RANDOM % 12000))
    [[ $USED_PORTS == *" $p "* ]] && continue
    if port_free "$p"; then
      USED_PORTS+="$p "
      echo "$p"
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

stop_pid() { # $1=pidfile $2=binary name
  local p _
  if alive "$1" "$2"; then
    p=$(<"$1")
    kill -TERM "$p" 2>/dev/null || true
    for _ in $(seq 1 100); do
      kill -0 "$p" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$p" 2>/dev/null; then kill -KILL "$p" 2>/dev/null || true; fi
  fi
  rm -f "$1"
}

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

start_cluster() { # $1=name $2=index
  local name=$1 i=$2 d="$STATE_DIR/$1" bins eport pport aport
  bins=$(bin_dir)
  mkdir -p "$d/etcd-data" "$d/certs"
  chmod 700 "$d" "$d/etcd-data"
  pki "$d"
  eport=$(pick_port)
  pport=$(pick_port)
  aport=$(pick_port)
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
    --max-mutating-requests-inflight=500 -v=1
  local auth=(--cacert "$d/ca.crt" --cert "$d/admin.crt" --key "$d/admin.key")
  wait_for "kube-apiserver of cluster $name" "$d/apiserver.pid" "$d/apiserver.log" \
    curl -fsS "${auth[@]}" "https://127.0.0.1:$aport/readyz"
  wait_for "default namespace of cluster $name" "$d/apiserver.pid" "$d/apiserver.log" \
    curl -fsS "${auth[@]}" "https://127.0.0.1:$aport/api/v1/namespaces/default"
  kubeconfig "$name" "$aport" "$d" >"$STATE_DIR/$name.kubeconfig"
  chmod 600 "$STATE_DIR/$name.kubeconfig"

  spawn "$d/kcm.pid" "$d/kcm.log" "$bins/kube-controller-manager" --kubeconfig="$STATE_DIR/$name.kubeconfig" \
    --leader-elect=false --secure-port=0 --controllers="$KCM_CONTROLLERS" \
    --service-account-private-key-file="$d/sa.key" --root-ca-file="$d/ca.crt" \
    --use-service-account-credentials=false --concurrent-gc-syncs=5 --pvclaimbinder-sync-period=1s -v=1
  wait_for "kube-controller-manager of cluster $name" "$d/kcm.pid" "$d/kcm.log" \
    curl -fsS "${auth[@]}" "https://127.0.0.1:$aport/api/v1/namespaces/default/serviceaccounts/default"
  echo "$aport" >"$d/port"
  log "cluster $name ready at https://127.0.0.1:$aport (kubeconfig: $STATE_DIR/$name.kubeconfig)"
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

cluster_up() { # $1=name: all three processes alive and /readyz answers
  local d="$STATE_DIR/$1"
  alive "$d/etcd.pid" etcd && alive "$d/apiserver.pid" kube-apiserver && alive "$d/kcm.pid" kube-controller-manager &&
    [[ -f $d/port ]] &&
    curl -fsS --max-time 5 --cacert "$d/ca.crt" --cert "$d/admin.crt" --key "$d/admin.key" \
      "https://127.0.0.1:$(<"$d/port")/readyz" >/dev/null 2>&1
}

cmd_up() {
  need curl
  need openssl
  need base64
  need setsid
  local n all=1
  for n in "${CLUSTERS[@]}"; do cluster_up "$n" || all=0; done
  if ((all)); then
    log "already running: ${CLUSTERS[*]} (kubeconfigs in $STATE_DIR)"
    return 0
  fi
  cmd_down quiet
  cmd_build
  local t0=$SECONDS i=0
  mkdir -p "$STATE_DIR"
  for n in "${CLUSTERS[@]}"; do
    i=$((i + 1))
    start_cluster "$n" "$i"
  done
  log "clusters ${CLUSTERS[*]} started in $((SECONDS - t0))s"
}

cmd_down() {
  local n d stopped=0
  [[ -d $STATE_DIR ]] || return 0
  for n in "${CLUSTERS[@]}"; do
    d="$STATE_DIR/$n"
    [[ -d $d ]] || continue
    stop_pid "$d/kcm.pid" kube-controller-manager
    stop_pid "$d/apiserver.pid" kube-apiserver
    stop_pid "$d/etcd.pid" etcd
    rm -rf "$d" "$STATE_DIR/$n.kubeconfig"
    stopped=1
  done
  rmdir "$STATE_DIR" 2>/dev/null || true
  if ((stopped)) && [[ ${1:-} != quiet ]]; then log "stopped ${CLUSTERS[*]} and removed their state"; fi
}

cmd_status() {
  local n d rc=0
  for n in "${CLUSTERS[@]}"; do
    d="$STATE_DIR/$n"
    if cluster_up "$n"; then
      printf '%-7s running  https://127.0.0.1:%s  etcd pid %s, kube-apiserver pid %s, kube-controller-manager pid %s\n' \
        "$n" "$(<"$d/port")" "$(<"$d/etcd.pid")" "$(<"$d/apiserver.pid")" "$(<"$d/kcm.pid")"
    elif [[ -d $d ]]; then
      printf '%-7s broken   some of its processes are gone; run "deno task testenv down" then "up"\n' "$n"
      rc=1
    else
      printf '%-7s stopped\n' "$n"
      rc=1
    fi
  done
  local out
  out=$(bin_dir)
  if [[ -x $out/kube-apiserver ]]; then echo "binaries: $out"; else echo "binaries: not built yet ($out)"; fi
  return $rc
}

usage() {
  sed -n '2,15p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

case ${1:-} in
build) cmd_build ;;
build-kubectl) cmd_build_kubectl ;;
up | ensure) cmd_up ;;
down) cmd_down ;;
status) cmd_status ;;
-h | --help | help) usage ;;
*)
  usage >&2
  exit 2
  ;;
esac
