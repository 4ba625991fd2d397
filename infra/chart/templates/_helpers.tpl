{{- /*
The chart's model: what `dr-syncer render` derives from the config for one cluster (infra/render.ts,
infra/runtime_rbac.ts, infra/schedule_jobs.ts), written again in Helm's template language. The templates read
it as JSON:

  {{- $m := include "dr-syncer.model" . | fromJson }}

tests/integration/chart_render_test.ts renders the chart with the real `helm template` for several configs and
compares every object with render's; the tables (type names, defaults, names, commands) are generated from the
TypeScript (_tables.tpl).
*/ -}}

{{- /* A name's schedule as the config normalises it: the fields joined by one space. */ -}}
{{- define "dr-syncer.cron" -}}
{{- regexSplit "\\s+" (trim .) -1 | join " " -}}
{{- end -}}

{{- /* First 8 hex digits of derivedRunId(name) (shared/runs/derived_run_id.ts): sha256 of "<length>:<name>". */ -}}
{{- define "dr-syncer.hash8" -}}
{{- printf "%d:%s" (len .) . | sha256sum | trunc 8 -}}
{{- end -}}

{{- /* A CronJob's name for a job (infra/names.ts cronJobName). */ -}}
{{- define "dr-syncer.cronJobName" -}}
{{- $name := printf "dr-syncer-%s" . -}}
{{- if le (len $name) 52 -}}{{ $name }}{{- else -}}
{{- printf "%s-%s" (regexReplaceAll "-+$" (trunc 43 $name) "") (include "dr-syncer.hash8" $name) -}}
{{- end -}}
{{- end -}}

{{- /* A job's name (infra/schedule_jobs.ts): "<operation>-<replication>", shortened over 64 characters. */ -}}
{{- define "dr-syncer.jobName" -}}
{{- if le (len .) 64 -}}{{ . }}{{- else -}}
{{- printf "%s-%s" (trunc 55 .) (include "dr-syncer.hash8" .) -}}
{{- end -}}
{{- end -}}

{{- /*
The RBAC type of a type name as a config writes it (infra/runtime_rbac.ts rbacType), without a cluster:
{"group", "resource"}, or {} for a bare name that is not a built-in type. Input: {name, t (the tables)}.
*/ -}}
{{- define "dr-syncer.rbacType" -}}
{{- $lower := .name | trim | lower -}}
{{- $hasDot := contains "." $lower -}}
{{- $head := regexReplaceAll "\\..*$" $lower "" -}}
{{- $group := "" -}}
{{- if $hasDot -}}
{{- $group = regexReplaceAll "^[^.]*\\." $lower "" -}}
{{- if regexMatch "^v[0-9]+((alpha|beta)[0-9]+)?\\." $group -}}
{{- $group = regexReplaceAll "^[^.]*\\." $group "" -}}
{{- end -}}
{{- end -}}
{{- $found := dict -}}
{{- range $b := .t.builtIn -}}
{{- if and (not $found) (or (not $hasDot) (eq $group $b.group)) (or (eq $head $b.resource) (has $head $b.aliases)) -}}
{{- $found = dict "group" $b.group "resource" $b.resource -}}
{{- end -}}
{{- end -}}
{{- if and (not $found) $hasDot (ne $group "") -}}
{{- $found = dict "group" $group "resource" $head -}}
{{- end -}}
{{- toJson $found -}}
{{- end -}}

{{- /*
The types a replication copies (infra/runtime_rbac.ts replicatedTypes, without discovery): its list or the
defaults, its custom types, minus its exclusions; a type only a cluster's discovery could name fails the
install, as render refuses it. Input: {r (a normalised replication), t}. Output: a list of {group, resource}.
*/ -}}
{{- define "dr-syncer.replicatedTypes" -}}
{{- $r := .r -}}{{- $t := .t -}}
{{- $where := printf "replication %q" $r.name -}}
{{- $excluded := list -}}
{{- range $r.excludeResourceTypes }}{{ $excluded = append $excluded (. | trim | lower) }}{{ end -}}
{{- $names := $r.resourceTypes | default $t.defaultResourceTypes -}}
{{- if kindIs "slice" $r.includeCustomResources }}{{ $names = concat $names $r.includeCustomResources }}{{ end -}}
{{- $types := dict -}}
{{- $unplaced := list -}}
{{- range $name := $names -}}
{{- $type := include "dr-syncer.rbacType" (dict "name" $name "t" $t) | fromJson -}}
{{- if $type.resource -}}
{{- $_ := set $types (printf "%s.%s" $type.resource $type.group) $type -}}
{{- else if not (has ($name | trim | lower) $excluded) -}}
{{- $unplaced = append $unplaced $name -}}
{{- end -}}
{{- end -}}
{{- if and (kindIs "bool" $r.includeCustomResources) $r.includeCustomResources -}}
{{- fail (printf "%s: includeCustomResources: true names no type, and the runtime's rights name each type: which custom types cluster %q serves only its API server knows, and the chart cannot read it. List them (includeCustomResources: [widgets.example.com, ...])" $where $r.source.cluster) -}}
{{- end -}}
{{- if $unplaced -}}
{{- $quoted := list -}}{{- range $unplaced }}{{ $quoted = append $quoted (printf "%q" .) }}{{ end -}}
{{- fail (printf "%s: %s %s, and the runtime's rights name each type with its API group: write custom types as resource.group (widgets.example.com)" $where (join ", " $quoted) (ternary "is not a built-in type" "are not built-in types" (eq (len $unplaced) 1))) -}}
{{- end -}}
{{- range $name := $r.excludeResourceTypes -}}
{{- $type := include "dr-syncer.rbacType" (dict "name" $name "t" $t) | fromJson -}}
{{- $lower := $name | trim | lower -}}
{{- $gone := list -}}
{{- range $k, $v := $types -}}
{{- if $type.resource -}}
{{- if eq $k (printf "%s.%s" $type.resource $type.group) }}{{ $gone = append $gone $k }}{{ end -}}
{{- else if eq $v.resource $lower -}}
{{- $gone = append $gone $k -}}
{{- end -}}
{{- end -}}
{{- range $gone }}{{ $_ := unset $types . }}{{ end -}}
{{- end -}}
{{- $list := list -}}
{{- range $k := keys $types | sortAlpha }}{{ $list = append $list (get $types $k) }}{{ end -}}
{{- toJson $list -}}
{{- end -}}

{{- /*
Adds verbs to a rule set (infra/runtime_rbac.ts RuleSet.add): a dict keyed "group|resource|names" (names
sorted and joined by ",", "~" for none) of verb lists. Input: {set, group, resources, verbs, names}.
*/ -}}
{{- define "dr-syncer.add" -}}
{{- $names := "~" -}}
{{- if .names }}{{ $names = .names | uniq | sortAlpha | join "," }}{{ end -}}
{{- range $resource := .resources -}}
{{- $k := printf "%s|%s|%s" $.group $resource $names -}}
{{- $_ := set $.set $k (concat (get $.set $k | default list) $.verbs | uniq) -}}
{{- end -}}
{{- end -}}

{{- /* A rule set's rules (RuleSet.rules): one per (group, names, verbs), resources merged, sorted. */ -}}
{{- define "dr-syncer.rules" -}}
{{- $set := . -}}
{{- $merged := dict -}}
{{- range $k := keys $set | sortAlpha -}}
{{- $parts := splitList "|" $k -}}
{{- $verbs := get $set $k | sortAlpha -}}
{{- $mk := printf "%s|%s|%s" (index $parts 0) (index $parts 2) (join "," $verbs) -}}
{{- if not (hasKey $merged $mk) -}}
{{- $_ := set $merged $mk (dict "group" (index $parts 0) "names" (index $parts 2) "verbs" $verbs "resources" list) -}}
{{- end -}}
{{- $entry := get $merged $mk -}}
{{- $_ := set $entry "resources" (append $entry.resources (index $parts 1)) -}}
{{- end -}}
{{- $sorted := dict -}}
{{- range $mk, $e := $merged -}}
{{- $resources := $e.resources | sortAlpha -}}
{{- $rule := dict "apiGroups" (list $e.group) "resources" $resources "verbs" $e.verbs -}}
{{- $namesJson := "" -}}
{{- if ne $e.names "~" -}}
{{- $_ := set $rule "resourceNames" (splitList "," $e.names) -}}
{{- $namesJson = printf ",\"resourceNames\":%s" (splitList "," $e.names | toJson) -}}
{{- end -}}
{{- /* sorted as JSON.stringify of {apiGroups, resources, resourceNames, verbs} orders them */ -}}
{{- $_ := set $sorted (printf "{\"apiGroups\":%s,\"resources\":%s%s,\"verbs\":%s}" (list $e.group | toJson) ($resources | toJson) $namesJson ($e.verbs | toJson)) $rule -}}
{{- end -}}
{{- $rules := list -}}
{{- range $k := keys $sorted | sortAlpha }}{{ $rules = append $rules (get $sorted $k) }}{{ end -}}
{{- toJson $rules -}}
{{- end -}}

{{- /* The rule set of a namespace in a dict of them, made when missing. Input: {perNs, ns}. */ -}}
{{- define "dr-syncer.ns" -}}
{{- if not (hasKey .perNs .ns) }}{{ $_ := set .perNs .ns dict }}{{ end -}}
{{- end -}}

{{- /*
The model of one cluster of the config. Output (JSON): config (the agent and runtime settings with their
defaults, the replications normalised), cluster, local (the runtime's cluster), isLocal, jobs, namespaces,
rbac {cluster: rules, namespaces: [{namespace, rules}]}, remoteClusters, tokens (whether the tokens Secret
is mounted), configFile (the config file the runtime's pod reads).
*/ -}}
{{- define "dr-syncer.model" -}}
{{- $t := include "dr-syncer.tables" . | fromJson -}}
{{- $v := .Values.config | default dict -}}
{{- $releaseNs := .Release.Namespace -}}
{{- $clusters := $v.clusters | default list -}}
{{- $runtimeIn := $v.runtime | default dict -}}
{{- if not $clusters -}}
{{- /* the runtime alone in its cluster, reading the original DR-Syncer's objects there */ -}}
{{- $clusters = list (dict "name" "local" "kubeconfig" (dict "inCluster" true)) -}}
{{- if not $runtimeIn.cluster }}{{ $runtimeIn = merge (dict "cluster" "local") $runtimeIn }}{{ end -}}
{{- end -}}
{{- $agent := merge (dict) ($v.agent | default dict) (dict "namespace" $releaseNs) $t.defaults.agent -}}
{{- $runtime := merge (dict) $runtimeIn (dict "namespace" $releaseNs) $t.defaults.runtime -}}
{{- $tokens := $v.tokens | default list -}}
{{- $clusterNames := list -}}
{{- range $clusters }}{{ $clusterNames = append $clusterNames .name }}{{ end -}}

{{- /* the replications, normalised as the config's schema does */ -}}
{{- $reps := list -}}
{{- range $r := $v.replications | default list -}}
{{- $schedule := "" -}}
{{- if $r.schedule }}{{ $schedule = include "dr-syncer.cron" $r.schedule }}{{ end -}}
{{- $mode := $r.mode | default (ternary "manual" "scheduled" (eq $schedule "")) -}}
{{- $pvc := dict "enabled" false "schedule" "" -}}
{{- if hasKey $r "pvc" -}}
{{- $p := $r.pvc | default dict -}}
{{- $pvc = dict "enabled" (ternary $p.enabled true (hasKey $p "enabled")) "schedule" (ternary (include "dr-syncer.cron" ($p.schedule | default "")) "" (not (empty $p.schedule))) -}}
{{- end -}}
{{- $dest := dict "cluster" $r.destination.cluster "namespace" ($r.destination.namespace | default $r.source.namespace) -}}
{{- $reps = append $reps (dict "name" $r.name "source" $r.source "destination" $dest "mode" $mode "schedule" $schedule "resourceTypes" $r.resourceTypes "excludeResourceTypes" ($r.excludeResourceTypes | default list) "includeCustomResources" ($r.includeCustomResources | default false) "syncCRDs" ($r.syncCRDs | default false) "pvc" $pvc) -}}
{{- end -}}

{{- /* what the config's schema checks across fields and the values' schema cannot: names, clusters */ -}}
{{- $seenNames := list -}}
{{- range $i, $r := $reps -}}
{{- if has $r.name $seenNames }}{{ fail (printf "replications[%d].name: Duplicate replication name %q" $i $r.name) }}{{ end -}}
{{- $seenNames = append $seenNames $r.name -}}
{{- range $side := list "source" "destination" -}}
{{- $c := get (get $r $side) "cluster" -}}
{{- if not (has $c $clusterNames) }}{{ fail (printf "replications[%d].%s.cluster: Unknown cluster %q" $i $side $c) }}{{ end -}}
{{- end -}}
{{- end -}}

{{- /* the runtime's cluster (render.ts runtimeClusterOf) */ -}}
{{- $local := $runtime.cluster | default "" -}}
{{- if not $local -}}
{{- $destinations := list -}}
{{- range $reps }}{{ $destinations = append $destinations .destination.cluster }}{{ end -}}
{{- $destinations = $destinations | uniq | sortAlpha -}}
{{- if eq (len $destinations) 1 }}{{ $local = index $destinations 0 }}
{{- else if eq (len $destinations) 0 -}}
{{- fail "runtime.cluster: the config has no replication whose destination would say where the runtime runs: set runtime.cluster" -}}
{{- else -}}
{{- $quoted := list }}{{ range $destinations }}{{ $quoted = append $quoted (printf "%q" .) }}{{ end -}}
{{- fail (printf "runtime.cluster: the replications go to several clusters (%s): set runtime.cluster to the one the runtime runs in" (join ", " $quoted)) -}}
{{- end -}}
{{- end -}}
{{- if not (has $local $clusterNames) }}{{ fail (printf "runtime.cluster: unknown cluster %q" $local) }}{{ end -}}
{{- $_ := set $runtime "cluster" $local -}}
{{- $cluster := .Values.cluster | default $local -}}
{{- if not (has $cluster $clusterNames) -}}
{{- $quoted := list }}{{ range $clusterNames }}{{ $quoted = append $quoted (printf "%q" .) }}{{ end -}}
{{- fail (printf "Unknown cluster %q (configured clusters: %s)" $cluster (join ", " $quoted)) -}}
{{- end -}}
{{- $isLocal := eq $cluster $local -}}

{{- /* the schedule jobs (schedule_jobs.ts) */ -}}
{{- $jobs := list -}}
{{- range $r := $reps -}}
{{- $stage := "" -}}
{{- if eq $r.mode "scheduled" }}{{ $stage = $r.schedule }}{{ else if eq $r.mode "continuous" }}{{ $stage = $r.schedule | default $t.safetyNetSchedule }}{{ end -}}
{{- if $stage -}}
{{- $jobs = append $jobs (dict "name" (include "dr-syncer.jobName" (printf "stage-%s" $r.name)) "schedule" $stage "replication" $r.name "operation" "stage") -}}
{{- end -}}
{{- if and $r.pvc.enabled $r.pvc.schedule -}}
{{- $jobs = append $jobs (dict "name" (include "dr-syncer.jobName" (printf "pvc-sync-%s" $r.name)) "schedule" $r.pvc.schedule "replication" $r.name "operation" "pvc-sync") -}}
{{- end -}}
{{- end -}}

{{- /* what render and deploy refuse (render.ts checkDeployable) */ -}}
{{- range $clusters -}}
{{- if and (ne .name $local) (hasKey .kubeconfig "inCluster") -}}
{{- fail (printf "clusters: %q is read inCluster, which is the cluster the runtime runs in (%q): give it a kubeconfig" .name $local) -}}
{{- end -}}
{{- end -}}
{{- range $i, $r := $reps -}}
{{- range $side := list "source" "destination" -}}
{{- if eq (get (get $r $side) "namespace") $agent.namespace -}}
{{- fail (printf "replications[%d] %q: its %s namespace %q is agent.namespace, which holds the agents' host private key: the runtime's rights to copy it would reach that key; replicate another namespace, or set agent.namespace" $i $r.name $side $agent.namespace) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- /* the namespaces: the agents', the runtime's, the DR and source namespaces here */ -}}
{{- $namespaces := list (dict "name" $agent.namespace "labels" $t.labels.partOf) -}}
{{- $seen := list $agent.namespace -}}
{{- if not (has $runtime.namespace $seen) -}}
{{- $namespaces = append $namespaces (dict "name" $runtime.namespace "labels" $t.labels.partOf) -}}
{{- $seen = append $seen $runtime.namespace -}}
{{- end -}}
{{- range $r := $reps -}}
{{- if and (eq $r.destination.cluster $cluster) (not (has $r.destination.namespace $seen)) -}}
{{- $namespaces = append $namespaces (dict "name" $r.destination.namespace "labels" $t.labels.destination) -}}
{{- $seen = append $seen $r.destination.namespace -}}
{{- end -}}
{{- end -}}
{{- range $r := $reps -}}
{{- if and (eq $r.source.cluster $cluster) (not (has $r.source.namespace $seen)) -}}
{{- $namespaces = append $namespaces (dict "name" $r.source.namespace "labels" dict) -}}
{{- $seen = append $seen $r.source.namespace -}}
{{- end -}}
{{- end -}}

{{- /* the runtime's rights here (runtime_rbac.ts runtimeRbac) */ -}}
{{- $perNs := dict -}}
{{- $clusterSet := dict -}}
{{- $read := list -}}
{{- $patch := list -}}
{{- $agents := false -}}
{{- range $r := $reps -}}
{{- $hasJob := false -}}
{{- range $jobs }}{{ if eq .replication $r.name }}{{ $hasJob = true }}{{ end }}{{ end -}}
{{- $runs := ternary (ternary "jobs" "none" $hasJob) "all" $runtime.cronJobs -}}
{{- if and (ne $runs "none") (or (eq $r.source.cluster $cluster) (eq $r.destination.cluster $cluster)) -}}
{{- $types := include "dr-syncer.replicatedTypes" (dict "r" $r "t" $t) | fromJsonArray -}}
{{- $pvc := and $r.pvc.enabled (or (not $runtime.cronJobs) (ne $r.pvc.schedule "")) -}}
{{- $custom := list -}}
{{- if and $r.syncCRDs (not (and (kindIs "bool" $r.includeCustomResources) (not $r.includeCustomResources))) -}}
{{- range $types }}{{ if not (has .group $t.builtInGroups) }}{{ $custom = append $custom . }}{{ end }}{{ end -}}
{{- end -}}
{{- $crdNames := list -}}
{{- range $custom }}{{ $crdNames = append $crdNames (printf "%s.%s" .resource .group) }}{{ end -}}
{{- if eq $r.source.cluster $cluster -}}
{{- /* the source: read (watched by the Deployment for a continuous replication), scaled workloads patched, written by failback's copy-back */ -}}
{{- include "dr-syncer.ns" (dict "perNs" $perNs "ns" $r.source.namespace) -}}
{{- $set := get $perNs $r.source.namespace -}}
{{- $watch := and (eq $runs "all") (eq $r.mode "continuous") -}}
{{- range $type := $types -}}
{{- include "dr-syncer.add" (dict "set" $set "group" $type.group "resources" (list $type.resource) "verbs" (ternary (list "get" "list" "watch") (list "get" "list") $watch)) -}}
{{- range $t.scaled }}{{ if and (eq .group $type.group) (eq .resource $type.resource) }}{{ include "dr-syncer.add" (dict "set" $set "group" $type.group "resources" (list $type.resource) "verbs" (list "patch")) }}{{ end }}{{ end -}}
{{- /* failback's copy-back writes on the source what changed on DR while it served */ -}}
{{- if eq $runs "all" }}{{ include "dr-syncer.add" (dict "set" $set "group" $type.group "resources" (list $type.resource) "verbs" (list "create" "update" "patch" "delete")) }}{{ end -}}
{{- end -}}
{{- if eq $runs "all" }}{{ include "dr-syncer.add" (dict "set" $set "group" "apps" "resources" (list "deployments") "verbs" (list "list")) }}{{ end -}}
{{- if $pvc -}}
{{- include "dr-syncer.add" (dict "set" $set "group" "" "resources" (list "pods") "verbs" (list "get" "list" "create" "delete")) -}}
{{- include "dr-syncer.add" (dict "set" $set "group" "" "resources" (list "persistentvolumeclaims") "verbs" (list "get" "list" "patch")) -}}
{{- end -}}
{{- $read = append $read $r.source.namespace -}}
{{- if $custom }}{{ include "dr-syncer.add" (dict "set" $clusterSet "group" "apiextensions.k8s.io" "resources" (list "customresourcedefinitions") "verbs" (list "get") "names" $crdNames) }}{{ end -}}
{{- end -}}
{{- if eq $r.destination.cluster $cluster -}}
{{- /* the DR namespace: the copies, the Lease, failback's wait, the run records, PVC data */ -}}
{{- include "dr-syncer.ns" (dict "perNs" $perNs "ns" $r.destination.namespace) -}}
{{- $set := get $perNs $r.destination.namespace -}}
{{- range $type := $types -}}
{{- include "dr-syncer.add" (dict "set" $set "group" $type.group "resources" (list $type.resource) "verbs" (list "get" "list" "create" "update" "patch" "delete")) -}}
{{- if and (eq $type.group "rbac.authorization.k8s.io") (has $type.resource (list "roles" "rolebindings")) -}}
{{- include "dr-syncer.add" (dict "set" $set "group" "rbac.authorization.k8s.io" "resources" (list "roles") "verbs" (list "bind" "escalate")) -}}
{{- include "dr-syncer.add" (dict "set" $set "group" "rbac.authorization.k8s.io" "resources" (list "clusterroles") "verbs" (list "bind")) -}}
{{- end -}}
{{- end -}}
{{- include "dr-syncer.add" (dict "set" $set "group" "coordination.k8s.io" "resources" (list "leases") "verbs" (ternary (list "get" "create" "update" "watch") (list "create") $pvc)) -}}
{{- if not $pvc -}}
{{- $leases := ternary (list $t.names.lease $t.names.watchLease) (list $t.names.lease) (and (eq $runs "all") (eq $r.mode "continuous")) -}}
{{- include "dr-syncer.add" (dict "set" $set "group" "coordination.k8s.io" "resources" (list "leases") "verbs" (list "get" "update" "watch") "names" $leases) -}}
{{- end -}}
{{- if eq $runs "all" }}{{ include "dr-syncer.add" (dict "set" $set "group" "" "resources" (list "pods") "verbs" (list "list")) }}{{ end -}}
{{- include "dr-syncer.add" (dict "set" $set "group" "" "resources" (list "configmaps") "verbs" (list "get" "list" "create" "patch" "delete")) -}}
{{- if $pvc -}}
{{- include "dr-syncer.add" (dict "set" $set "group" "" "resources" (list "pods") "verbs" (list "get" "list" "create" "delete")) -}}
{{- include "dr-syncer.add" (dict "set" $set "group" "" "resources" (list "persistentvolumeclaims") "verbs" (list "get" "list" "patch")) -}}
{{- end -}}
{{- $read = append $read $r.destination.namespace -}}
{{- $patch = append $patch $r.destination.namespace -}}
{{- range $types -}}
{{- if and (eq .group "") (eq .resource "persistentvolumeclaims") }}{{ include "dr-syncer.add" (dict "set" $clusterSet "group" "storage.k8s.io" "resources" (list "storageclasses") "verbs" (list "list")) }}{{ end -}}
{{- end -}}
{{- if $custom -}}
{{- include "dr-syncer.add" (dict "set" $clusterSet "group" "apiextensions.k8s.io" "resources" (list "customresourcedefinitions") "verbs" (list "get" "create" "patch") "names" $crdNames) -}}
{{- range $custom }}{{ include "dr-syncer.add" (dict "set" $clusterSet "group" .group "resources" (list .resource) "verbs" (list "list")) }}{{ end -}}
{{- end -}}
{{- end -}}
{{- if $pvc }}{{ $agents = true }}{{ end -}}
{{- end -}}
{{- end -}}
{{- if $read }}{{ include "dr-syncer.add" (dict "set" $clusterSet "group" "" "resources" (list "namespaces") "verbs" (list "get") "names" (prepend $read "kube-system")) }}{{ end -}}
{{- if $patch }}{{ include "dr-syncer.add" (dict "set" $clusterSet "group" "" "resources" (list "namespaces") "verbs" (list "patch") "names" $patch) }}{{ end -}}
{{- if $agents -}}
{{- include "dr-syncer.ns" (dict "perNs" $perNs "ns" $agent.namespace) -}}
{{- $set := get $perNs $agent.namespace -}}
{{- include "dr-syncer.add" (dict "set" $set "group" "" "resources" (list "pods") "verbs" (list "list")) -}}
{{- include "dr-syncer.add" (dict "set" $set "group" "" "resources" (list "configmaps") "verbs" (list "get") "names" (list $t.names.hostPublicKeyConfigMap)) -}}
{{- include "dr-syncer.add" (dict "set" $set "group" "" "resources" (list "secrets") "verbs" (list "get" "patch") "names" (list $t.names.authorizedKeysSecret)) -}}
{{- end -}}
{{- if and $isLocal (not $runtime.cronJobs) -}}
{{- /* the original DR-Syncer API's objects, in the runtime's namespace */ -}}
{{- include "dr-syncer.ns" (dict "perNs" $perNs "ns" $runtime.namespace) -}}
{{- $set := get $perNs $runtime.namespace -}}
{{- $status := list -}}
{{- range $t.operator.plurals }}{{ $status = append $status (printf "%s/status" .) }}{{ end -}}
{{- include "dr-syncer.add" (dict "set" $set "group" $t.operator.group "resources" $t.operator.plurals "verbs" (list "list" "watch")) -}}
{{- include "dr-syncer.add" (dict "set" $set "group" $t.operator.group "resources" $status "verbs" (list "patch")) -}}
{{- include "dr-syncer.add" (dict "set" $set "group" $t.operator.group "resources" (list $t.operator.namespaceMapping) "verbs" (list "patch")) -}}
{{- include "dr-syncer.add" (dict "set" $set "group" "" "resources" (list "events") "verbs" (list "create")) -}}
{{- end -}}
{{- if $isLocal -}}
{{- /* the credentials the config keeps in Secrets (the CronJob form reads no API token) */ -}}
{{- $refs := list -}}
{{- range $clusters }}{{ if hasKey .kubeconfig "secret" }}{{ $refs = append $refs .kubeconfig.secret }}{{ end }}{{ end -}}
{{- if not $runtime.cronJobs -}}
{{- range $tokens }}{{ if hasKey .value "secret" }}{{ $refs = append $refs .value.secret }}{{ end }}{{ end -}}
{{- end -}}
{{- range $refs -}}
{{- include "dr-syncer.ns" (dict "perNs" $perNs "ns" .namespace) -}}
{{- include "dr-syncer.add" (dict "set" (get $perNs .namespace) "group" "" "resources" (list "secrets") "verbs" (list "get") "names" (list .name)) -}}
{{- end -}}
{{- end -}}
{{- $roles := list -}}
{{- range $ns := keys $perNs | sortAlpha -}}
{{- $roles = append $roles (dict "namespace" $ns "rules" (include "dr-syncer.rules" (get $perNs $ns) | fromJsonArray)) -}}
{{- end -}}

{{- /* the credentials the runtime's pod mounts, and the config file it reads (render.ts runtimeConfigFile) */ -}}
{{- $remote := list -}}
{{- $configClusters := list -}}
{{- range $c := $clusters -}}
{{- $kubeconfig := $c.kubeconfig -}}
{{- if eq $c.name $local -}}
{{- $kubeconfig = dict "inCluster" true -}}
{{- else if not (or (hasKey $c.kubeconfig "secret") (hasKey $c.kubeconfig "inCluster")) -}}
{{- $remote = append $remote $c.name -}}
{{- $kubeconfig = dict "path" (printf "%s/%s/kubeconfig" $t.paths.clustersDir $c.name) -}}
{{- end -}}
{{- $configClusters = append $configClusters (merge (dict "kubeconfig" $kubeconfig) (omit $c "kubeconfig")) -}}
{{- end -}}
{{- $copied := false -}}
{{- $configTokens := list -}}
{{- range $tok := $tokens -}}
{{- if hasKey $tok.value "secret" -}}
{{- $configTokens = append $configTokens $tok -}}
{{- else -}}
{{- $copied = true -}}
{{- $configTokens = append $configTokens (merge (dict "value" (dict "path" (printf "%s/%s" $t.paths.tokensDir $tok.name))) (omit $tok "value")) -}}
{{- end -}}
{{- end -}}
{{- $configFile := dict "clusters" $configClusters "tokens" $configTokens "replications" ($v.replications | default list) "agent" $agent "runtime" $runtime -}}

{{- toJson (dict "config" (dict "agent" $agent "runtime" $runtime "replications" $reps) "cluster" $cluster "local" $local "isLocal" $isLocal "jobs" $jobs "namespaces" $namespaces "rbac" (dict "cluster" (include "dr-syncer.rules" $clusterSet | fromJsonArray) "namespaces" $roles) "remoteClusters" $remote "tokens" $copied "configFile" $configFile) -}}
{{- end -}}

{{- /* Labels of the runtime's objects; of the agents' objects. */ -}}
{{- define "dr-syncer.runtimeLabels" -}}
{{- $t := include "dr-syncer.tables" . | fromJson -}}
{{- toYaml (merge (dict "app.kubernetes.io/name" $t.names.runtime) $t.labels.runtime) -}}
{{- end -}}
{{- define "dr-syncer.agentLabels" -}}
{{- $t := include "dr-syncer.tables" . | fromJson -}}
{{- toYaml (merge (dict "app.kubernetes.io/name" $t.names.agent) $t.labels.agent) -}}
{{- end -}}

{{- /* What the runtime's pods mount (runtime_templates.ts podVolumes): {volumes, volumeMounts}. Input: {m, t}. */ -}}
{{- define "dr-syncer.podVolumes" -}}
{{- $t := .t -}}
{{- $volumes := list (dict "name" "config" "configMap" (dict "name" $t.names.configMap "defaultMode" 288)) -}}
{{- $mounts := list (dict "name" "config" "mountPath" $t.paths.configDir "readOnly" true) -}}
{{- range $c := .m.remoteClusters -}}
{{- $name := regexReplaceAll "-+$" (trunc 63 (printf "cluster-%s" $c)) "" -}}
{{- $volumes = append $volumes (dict "name" $name "secret" (dict "secretName" (trunc 253 (printf "dr-syncer-kubeconfig-%s" $c)) "defaultMode" 288)) -}}
{{- $mounts = append $mounts (dict "name" $name "mountPath" (printf "%s/%s" $t.paths.clustersDir $c) "readOnly" true) -}}
{{- end -}}
{{- if .m.tokens -}}
{{- $volumes = append $volumes (dict "name" "tokens" "secret" (dict "secretName" $t.names.tokensSecret "defaultMode" 288)) -}}
{{- $mounts = append $mounts (dict "name" "tokens" "mountPath" $t.paths.tokensDir "readOnly" true) -}}
{{- end -}}
{{- $volumes = append $volumes (dict "name" "tmp" "emptyDir" (dict "sizeLimit" "64Mi")) -}}
{{- $mounts = append $mounts (dict "name" "tmp" "mountPath" "/tmp") -}}
{{- toJson (dict "volumes" $volumes "volumeMounts" $mounts) -}}
{{- end -}}
