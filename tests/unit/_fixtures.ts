/**
 * Objects shaped as kube-apiserver v1.36 returns them (managedFields, status, defaulted fields...),
 * each built fresh so that a test may edit its copy. Private to the unit tests.
 */
import type { KubeObject, ResourceType } from "../../shared/kube/types.ts";
import type { TransformContext } from "../../shared/plan/contracts.ts";

const LIST_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];

function served(
  group: string,
  version: string,
  resource: string,
  kind: string,
  extra: Partial<ResourceType> = {},
): ResourceType {
  return {
    group,
    version,
    resource,
    kind,
    namespaced: true,
    singular: kind.toLowerCase(),
    verbs: LIST_VERBS,
    ...extra,
  };
}

/** Resource types as discovery reports them (preferred versions), keyed for tests. */
export const TYPES = {
  configmaps: served("", "v1", "configmaps", "ConfigMap", { shortNames: ["cm"] }),
  endpoints: served("", "v1", "endpoints", "Endpoints", { shortNames: ["ep"] }),
  events: served("", "v1", "events", "Event", { shortNames: ["ev"] }),
  namespaces: served("", "v1", "namespaces", "Namespace", { namespaced: false, shortNames: ["ns"] }),
  nodes: served("", "v1", "nodes", "Node", { namespaced: false, shortNames: ["no"] }),
  persistentvolumeclaims: served("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", {
    shortNames: ["pvc"],
  }),
  persistentvolumes: served("", "v1", "persistentvolumes", "PersistentVolume", {
    namespaced: false,
    shortNames: ["pv"],
  }),
  pods: served("", "v1", "pods", "Pod", { shortNames: ["po"] }),
  podLogs: served("", "v1", "pods/log", "Pod", { singular: "", verbs: ["get"] }),
  secrets: served("", "v1", "secrets", "Secret"),
  serviceaccounts: served("", "v1", "serviceaccounts", "ServiceAccount", { shortNames: ["sa"] }),
  services: served("", "v1", "services", "Service", { shortNames: ["svc"] }),
  daemonsets: served("apps", "v1", "daemonsets", "DaemonSet", { shortNames: ["ds"] }),
  deployments: served("apps", "v1", "deployments", "Deployment", { shortNames: ["deploy"] }),
  replicasets: served("apps", "v1", "replicasets", "ReplicaSet", { shortNames: ["rs"] }),
  statefulsets: served("apps", "v1", "statefulsets", "StatefulSet", { shortNames: ["sts"] }),
  horizontalpodautoscalers: served(
    "autoscaling",
    "v2",
    "horizontalpodautoscalers",
    "HorizontalPodAutoscaler",
    {
      shortNames: ["hpa"],
    },
  ),
  cronjobs: served("batch", "v1", "cronjobs", "CronJob", { shortNames: ["cj"] }),
  jobs: served("batch", "v1", "jobs", "Job"),
  leases: served("coordination.k8s.io", "v1", "leases", "Lease"),
  endpointslices: served("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice"),
  eventsV1: served("events.k8s.io", "v1", "events", "Event", { shortNames: ["ev"] }),
  ingresses: served("networking.k8s.io", "v1", "ingresses", "Ingress", { shortNames: ["ing"] }),
  networkpolicies: served("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy", {
    shortNames: ["netpol"],
  }),
  poddisruptionbudgets: served("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", {
    shortNames: ["pdb"],
  }),
  rolebindings: served("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding"),
  roles: served("rbac.authorization.k8s.io", "v1", "roles", "Role"),
  clusterroles: served("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", {
    namespaced: false,
  }),
  podmetrics: served("metrics.k8s.io", "v1beta1", "pods", "PodMetrics", { verbs: ["get", "list"] }),
  // Custom resources
  widgets: served("example.com", "v1", "widgets", "Widget", { shortNames: ["wg"] }),
  proxies: served("example.com", "v1alpha1", "proxies", "Proxy"),
  clusterwidgets: served("example.com", "v1", "clusterwidgets", "ClusterWidget", { namespaced: false }),
  httproutes: served("gateway.networking.k8s.io", "v1", "httproutes", "HTTPRoute"),
  knativeServices: served("serving.knative.dev", "v1", "services", "Service", {
    shortNames: ["kservice", "ksvc"],
  }),
} satisfies Record<string, ResourceType>;

/** What discovery reports for a cluster with a few CRDs, in discovery order (core group first). */
export const SERVED: readonly ResourceType[] = [
  TYPES.configmaps,
  TYPES.endpoints,
  TYPES.events,
  TYPES.namespaces,
  TYPES.nodes,
  TYPES.persistentvolumeclaims,
  TYPES.persistentvolumes,
  TYPES.pods,
  TYPES.podLogs,
  TYPES.secrets,
  TYPES.serviceaccounts,
  TYPES.services,
  TYPES.daemonsets,
  TYPES.deployments,
  TYPES.replicasets,
  TYPES.statefulsets,
  TYPES.horizontalpodautoscalers,
  TYPES.cronjobs,
  TYPES.jobs,
  TYPES.leases,
  TYPES.endpointslices,
  TYPES.eventsV1,
  TYPES.ingresses,
  TYPES.networkpolicies,
  TYPES.poddisruptionbudgets,
  TYPES.rolebindings,
  TYPES.roles,
  TYPES.clusterroles,
  TYPES.podmetrics,
  TYPES.knativeServices,
  TYPES.widgets,
  TYPES.proxies,
  TYPES.clusterwidgets,
  TYPES.httproutes,
];

export function transformContext(overrides: Partial<TransformContext> = {}): TransformContext {
  return {
    sourceCluster: "prod",
    sourceNamespace: "shop",
    destNamespace: "shop-dr",
    scaleToZero: true,
    preserveNodePorts: false,
    storageClassMap: {},
    accessModeMap: {},
    ingressHostMap: {},
    ingressClassMap: {},
    ...overrides,
  };
}

/** A stable uid per name: the same source object keeps its uid across fixture calls, as on a real cluster. */
function uidOf(name: string): string {
  let hash = 0;
  for (const char of name) hash = (hash * 31 + char.charCodeAt(0)) >>> 0;
  return `0d4f5a3e-7c21-4b9a-9e2f-${hash.toString(16).padStart(12, "0")}`;
}

function meta(name: string, extra: Record<string, unknown> = {}): KubeObject["metadata"] {
  return {
    name,
    namespace: "shop",
    uid: uidOf(name),
    resourceVersion: "48213",
    creationTimestamp: "2026-01-12T09:14:03Z",
    ...extra,
  };
}

function managedBy(manager: string, operation: "Update" | "Apply", fieldsV1: unknown, subresource?: string) {
  return {
    manager,
    operation,
    apiVersion: "v1",
    time: "2026-01-12T09:14:03Z",
    fieldsType: "FieldsV1",
    fieldsV1,
    ...(subresource ? { subresource } : {}),
  };
}

export function namespace(): KubeObject {
  const metadata = meta("shop", {
    labels: { "kubernetes.io/metadata.name": "shop", team: "payments" },
    annotations: {
      "kubectl.kubernetes.io/last-applied-configuration":
        '{"apiVersion":"v1","kind":"Namespace","metadata":{"annotations":{"owner":"payments@example.com"},"labels":{"team":"payments"},"name":"shop"}}\n',
      owner: "payments@example.com",
    },
  });
  delete metadata.namespace;
  return {
    apiVersion: "v1",
    kind: "Namespace",
    metadata,
    spec: { finalizers: ["kubernetes"] },
    status: { phase: "Active" },
  };
}

const DEPLOYMENT_LAST_APPLIED = JSON.stringify({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { annotations: {}, labels: { app: "web" }, name: "web", namespace: "shop" },
  spec: {
    replicas: 3,
    selector: { matchLabels: { app: "web" } },
    template: {
      metadata: { labels: { app: "web" } },
      spec: { containers: [{ image: "nginx:1.27", name: "web", ports: [{ containerPort: 80 }] }] },
    },
  },
}) + "\n";

export function deployment(name = "web"): KubeObject {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: meta(name, {
      generation: 3,
      labels: { app: name, "app.kubernetes.io/part-of": "shop" },
      annotations: {
        "deployment.kubernetes.io/revision": "2",
        "kubectl.kubernetes.io/last-applied-configuration": DEPLOYMENT_LAST_APPLIED,
        "example.com/owner": "payments",
      },
      managedFields: [
        managedBy("kubectl-client-side-apply", "Update", {
          "f:metadata": {
            "f:annotations": { ".": {}, "f:kubectl.kubernetes.io/last-applied-configuration": {} },
          },
          "f:spec": { "f:replicas": {}, "f:selector": {}, "f:template": {} },
        }),
        managedBy("kube-controller-manager", "Update", { "f:status": { "f:replicas": {} } }, "status"),
      ],
    }),
    spec: {
      replicas: 3,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { creationTimestamp: null, labels: { app: name } },
        spec: {
          containers: [{
            name: "web",
            image: "nginx:1.27",
            ports: [{ containerPort: 80, protocol: "TCP" }],
            resources: {},
            terminationMessagePath: "/dev/termination-log",
            terminationMessagePolicy: "File",
            imagePullPolicy: "IfNotPresent",
          }],
          restartPolicy: "Always",
          terminationGracePeriodSeconds: 30,
          dnsPolicy: "ClusterFirst",
          securityContext: {},
          schedulerName: "default-scheduler",
        },
      },
      strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: "25%", maxSurge: "25%" } },
      revisionHistoryLimit: 10,
      progressDeadlineSeconds: 600,
    },
    status: {
      observedGeneration: 3,
      replicas: 3,
      updatedReplicas: 3,
      readyReplicas: 3,
      availableReplicas: 3,
      conditions: [{
        type: "Available",
        status: "True",
        lastUpdateTime: "2026-01-12T09:14:20Z",
        lastTransitionTime: "2026-01-12T09:14:20Z",
        reason: "MinimumReplicasAvailable",
        message: "Deployment has minimum availability.",
      }],
    },
  };
}

export function statefulSet(): KubeObject {
  return {
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    metadata: meta("db", { generation: 1, labels: { app: "db" } }),
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: "db" } },
      serviceName: "db",
      template: {
        metadata: { creationTimestamp: null, labels: { app: "db" } },
        spec: {
          containers: [{ name: "postgres", image: "postgres:17", resources: {} }],
          restartPolicy: "Always",
        },
      },
      volumeClaimTemplates: [{
        apiVersion: "v1",
        kind: "PersistentVolumeClaim",
        metadata: { name: "data", creationTimestamp: null },
        spec: {
          accessModes: ["ReadWriteOnce"],
          storageClassName: "fast",
          resources: { requests: { storage: "10Gi" } },
          volumeMode: "Filesystem",
        },
        status: { phase: "Pending" },
      }],
      podManagementPolicy: "OrderedReady",
      updateStrategy: { type: "RollingUpdate", rollingUpdate: { partition: 0 } },
      revisionHistoryLimit: 10,
      persistentVolumeClaimRetentionPolicy: { whenDeleted: "Retain", whenScaled: "Retain" },
    },
    status: { observedGeneration: 1, replicas: 2, readyReplicas: 2, currentRevision: "db-7d9f8c6b5" },
  };
}

export function daemonSet(): KubeObject {
  return {
    apiVersion: "apps/v1",
    kind: "DaemonSet",
    metadata: meta("log-agent", { generation: 1, labels: { app: "log-agent" } }),
    spec: {
      selector: { matchLabels: { app: "log-agent" } },
      template: {
        metadata: { creationTimestamp: null, labels: { app: "log-agent" } },
        spec: {
          nodeSelector: { "kubernetes.io/os": "linux" },
          containers: [{ name: "agent", image: "fluent-bit:3.2", resources: {} }],
        },
      },
      updateStrategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } },
      revisionHistoryLimit: 10,
    },
    status: { currentNumberScheduled: 3, desiredNumberScheduled: 3, numberReady: 3, observedGeneration: 1 },
  };
}

export function cronJob(): KubeObject {
  return {
    apiVersion: "batch/v1",
    kind: "CronJob",
    metadata: meta("nightly-report", { generation: 1 }),
    spec: {
      schedule: "0 2 * * *",
      concurrencyPolicy: "Allow",
      suspend: false,
      successfulJobsHistoryLimit: 3,
      failedJobsHistoryLimit: 1,
      jobTemplate: {
        metadata: { creationTimestamp: null },
        spec: {
          template: {
            metadata: { creationTimestamp: null },
            spec: { containers: [{ name: "report", image: "report:1.4" }], restartPolicy: "OnFailure" },
          },
        },
      },
    },
    status: { lastScheduleTime: "2026-01-12T02:00:00Z", lastSuccessfulTime: "2026-01-12T02:00:41Z" },
  };
}

export function job(name = "migrate", status: Record<string, unknown> = { active: 1, ready: 0 }): KubeObject {
  const uid = "5b8e2c41-9a0d-4f7e-b3c6-2d1f0e9a8b7c";
  const generated = {
    "batch.kubernetes.io/controller-uid": uid,
    "batch.kubernetes.io/job-name": name,
    "controller-uid": uid,
    "job-name": name,
  };
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: meta(name, { uid, generation: 1, labels: generated }),
    spec: {
      parallelism: 1,
      completions: 1,
      backoffLimit: 6,
      completionMode: "NonIndexed",
      suspend: false,
      manualSelector: false,
      selector: { matchLabels: { "batch.kubernetes.io/controller-uid": uid } },
      template: {
        metadata: { creationTimestamp: null, labels: generated },
        spec: { containers: [{ name: "migrate", image: "shop-migrate:2.1" }], restartPolicy: "Never" },
      },
    },
    status: { startTime: "2026-01-12T09:20:00Z", ...status },
  };
}

export function finishedJob(condition: "Complete" | "Failed"): KubeObject {
  return job(`backfill-${condition.toLowerCase()}`, {
    ...(condition === "Complete" ? { succeeded: 1 } : { failed: 7 }),
    completionTime: "2026-01-12T09:21:00Z",
    conditions: [
      { type: condition === "Complete" ? "SuccessCriteriaMet" : "FailureTarget", status: "True" },
      { type: condition, status: "True", lastProbeTime: "2026-01-12T09:21:00Z" },
    ],
  });
}

export function hpa(): KubeObject {
  return {
    apiVersion: "autoscaling/v2",
    kind: "HorizontalPodAutoscaler",
    metadata: meta("web"),
    spec: {
      scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "web" },
      minReplicas: 2,
      maxReplicas: 10,
      metrics: [{
        type: "Resource",
        resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 70 } },
      }],
    },
    status: { currentReplicas: 3, desiredReplicas: 3, currentMetrics: null },
  };
}

/** A NodePort Service created with `kubectl apply`: port 80 has an explicit nodePort, port 443 an allocated one. */
export function nodePortService(): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: meta("shop-api", {
      labels: { app: "shop-api" },
      annotations: {
        "kubectl.kubernetes.io/last-applied-configuration": JSON.stringify({
          apiVersion: "v1",
          kind: "Service",
          metadata: { name: "shop-api", namespace: "shop", labels: { app: "shop-api" } },
          spec: {
            type: "NodePort",
            selector: { app: "shop-api" },
            ports: [{ name: "http", port: 80, targetPort: 8080, nodePort: 30080 }, {
              name: "https",
              port: 443,
              targetPort: 8443,
            }],
          },
        }) + "\n",
      },
      managedFields: [managedBy("kubectl-client-side-apply", "Update", {
        "f:metadata": { "f:labels": { ".": {}, "f:app": {} } },
        "f:spec": {
          "f:externalTrafficPolicy": {},
          "f:ports": {
            ".": {},
            'k:{"port":80,"protocol":"TCP"}': { ".": {}, "f:name": {}, "f:nodePort": {}, "f:port": {} },
            'k:{"port":443,"protocol":"TCP"}': { ".": {}, "f:name": {}, "f:port": {}, "f:protocol": {} },
          },
          "f:selector": {},
          "f:type": {},
        },
      })],
    }),
    spec: {
      type: "NodePort",
      selector: { app: "shop-api" },
      ports: [
        { name: "http", protocol: "TCP", port: 80, targetPort: 8080, nodePort: 30080 },
        { name: "https", protocol: "TCP", port: 443, targetPort: 8443, nodePort: 31544 },
      ],
      clusterIP: "10.96.142.17",
      clusterIPs: ["10.96.142.17"],
      externalIPs: ["203.0.113.10"],
      sessionAffinity: "None",
      externalTrafficPolicy: "Cluster",
      ipFamilies: ["IPv4"],
      ipFamilyPolicy: "SingleStack",
      internalTrafficPolicy: "Cluster",
    },
    status: { loadBalancer: {} },
  };
}

/** A LoadBalancer Service applied server-side by a tool (no last-applied annotation). */
export function loadBalancerService(explicitPorts: boolean): KubeObject {
  const portFields = explicitPorts ? { "f:nodePort": {}, "f:port": {} } : { "f:port": {} };
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: meta("storefront", {
      managedFields: [managedBy("helm", "Apply", {
        "f:spec": {
          "f:externalTrafficPolicy": {},
          ...(explicitPorts ? { "f:healthCheckNodePort": {} } : {}),
          "f:loadBalancerIP": {},
          "f:ports": { 'k:{"port":443,"protocol":"TCP"}': { ".": {}, ...portFields } },
          "f:selector": {},
          "f:type": {},
        },
      })],
    }),
    spec: {
      type: "LoadBalancer",
      selector: { app: "storefront" },
      ports: [{ protocol: "TCP", port: 443, targetPort: 8443, nodePort: 32443 }],
      clusterIP: "10.96.20.5",
      clusterIPs: ["10.96.20.5"],
      loadBalancerIP: "198.51.100.7",
      externalTrafficPolicy: "Local",
      healthCheckNodePort: 31977,
      allocateLoadBalancerNodePorts: true,
      ipFamilies: ["IPv4"],
      ipFamilyPolicy: "SingleStack",
      sessionAffinity: "None",
      internalTrafficPolicy: "Cluster",
    },
    status: { loadBalancer: { ingress: [{ ip: "198.51.100.7", ipMode: "VIP" }] } },
  };
}

export function headlessService(): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: meta("db", { labels: { app: "db" } }),
    spec: {
      clusterIP: "None",
      clusterIPs: ["None"],
      selector: { app: "db" },
      ports: [{ name: "pg", protocol: "TCP", port: 5432, targetPort: 5432 }],
      type: "ClusterIP",
      sessionAffinity: "None",
      ipFamilies: ["IPv4"],
      ipFamilyPolicy: "SingleStack",
      internalTrafficPolicy: "Cluster",
    },
    status: { loadBalancer: {} },
  };
}

export function externalNameService(): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: meta("payments-gateway"),
    spec: { type: "ExternalName", externalName: "payments.example.net", sessionAffinity: "None" },
    status: { loadBalancer: {} },
  };
}

/** A Service without selector whose Endpoints are maintained by hand (an external database). */
export function selectorlessService(): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: meta("legacy-db"),
    spec: {
      type: "ClusterIP",
      ports: [{ protocol: "TCP", port: 5432, targetPort: 5432 }],
      clusterIP: "10.96.77.3",
      clusterIPs: ["10.96.77.3"],
      sessionAffinity: "None",
      ipFamilies: ["IPv4"],
      ipFamilyPolicy: "SingleStack",
      internalTrafficPolicy: "Cluster",
    },
    status: { loadBalancer: {} },
  };
}

export function endpoints(name: string): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Endpoints",
    metadata: meta(name, {
      annotations: name === "legacy-db"
        ? {}
        : { "endpoints.kubernetes.io/last-change-trigger-time": "2026-01-12T09:14:20Z" },
    }),
    subsets: [{ addresses: [{ ip: "192.0.2.40" }], ports: [{ port: 5432, protocol: "TCP" }] }],
  };
}

export function ingress(): KubeObject {
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "Ingress",
    metadata: meta("storefront", {
      generation: 1,
      annotations: { "nginx.ingress.kubernetes.io/proxy-body-size": "8m" },
    }),
    spec: {
      ingressClassName: "nginx-prod",
      tls: [{ hosts: ["shop.example.com", "www.shop.example.com"], secretName: "shop-tls" }],
      rules: [
        {
          host: "shop.example.com",
          http: {
            paths: [{
              path: "/",
              pathType: "Prefix",
              backend: { service: { name: "storefront", port: { number: 443 } } },
            }],
          },
        },
        {
          host: "api.shop.example.com",
          http: {
            paths: [{
              path: "/",
              pathType: "Prefix",
              backend: { service: { name: "shop-api", port: { number: 80 } } },
            }],
          },
        },
      ],
    },
    status: { loadBalancer: { ingress: [{ ip: "198.51.100.8" }] } },
  };
}

export function pvc(name = "uploads", storage = "20Gi"): KubeObject {
  return {
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    metadata: meta(name, {
      labels: { app: "web" },
      annotations: {
        "pv.kubernetes.io/bind-completed": "yes",
        "pv.kubernetes.io/bound-by-controller": "yes",
        "volume.beta.kubernetes.io/storage-provisioner": "ebs.csi.aws.com",
        "volume.kubernetes.io/storage-provisioner": "ebs.csi.aws.com",
        "volume.kubernetes.io/selected-node": "ip-10-0-3-17.ec2.internal",
        "example.com/backup": "daily",
      },
      finalizers: ["kubernetes.io/pvc-protection"],
    }),
    spec: {
      accessModes: ["ReadWriteMany"],
      resources: { requests: { storage } },
      storageClassName: "fast",
      volumeMode: "Filesystem",
      volumeName: "pvc-9a1f7a52-0b3e-4c1d-8f6e-3b2a1c0d9e8f",
      dataSource: { apiGroup: "snapshot.storage.k8s.io", kind: "VolumeSnapshot", name: "uploads-snap" },
      dataSourceRef: { apiGroup: "snapshot.storage.k8s.io", kind: "VolumeSnapshot", name: "uploads-snap" },
    },
    status: { phase: "Bound", accessModes: ["ReadWriteMany"], capacity: { storage } },
  };
}

export function roleBinding(): KubeObject {
  return {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "RoleBinding",
    metadata: meta("web-reader"),
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "reader" },
    subjects: [
      { kind: "ServiceAccount", name: "web", namespace: "shop" },
      { kind: "ServiceAccount", name: "prometheus", namespace: "monitoring" },
      { apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: "shop-admins" },
    ],
  };
}

export function configMap(name = "web-config"): KubeObject {
  return { apiVersion: "v1", kind: "ConfigMap", metadata: meta(name), data: { "LOG_LEVEL": "info" } };
}

export function serviceAccount(name = "web"): KubeObject {
  return {
    apiVersion: "v1",
    kind: "ServiceAccount",
    metadata: meta(name),
    secrets: [{ name: `${name}-token-x7k2p` }, { name: "registry-credentials" }],
    imagePullSecrets: [{ name: "registry-credentials" }],
  };
}

export function secret(name: string, type: string, extra: Record<string, unknown> = {}): KubeObject {
  return { apiVersion: "v1", kind: "Secret", metadata: meta(name, extra), type, data: { key: "c2VjcmV0" } };
}

export function helmReleaseSecret(): KubeObject {
  return secret("sh.helm.release.v1.shop.v3", "helm.sh/release.v1", {
    labels: { modifiedAt: "1768209243", name: "shop", owner: "helm", status: "deployed", version: "3" },
  });
}

/** A Pod of the `web` Deployment, owned by its ReplicaSet. */
export function ownedPod(): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: meta("web-5d9c7b8f4-x2x9z", {
      generateName: "web-5d9c7b8f4-",
      labels: { app: "web", "pod-template-hash": "5d9c7b8f4" },
      ownerReferences: [{
        apiVersion: "apps/v1",
        kind: "ReplicaSet",
        name: "web-5d9c7b8f4",
        uid: "b2c7f1de-1111-4a5b-9c8d-0e1f2a3b4c5d",
        controller: true,
        blockOwnerDeletion: true,
      }],
    }),
    spec: { containers: [{ name: "web", image: "nginx:1.27" }], nodeName: "node-a" },
    status: { phase: "Running", podIP: "10.244.1.7" },
  };
}

export function customResource(name = "blue"): KubeObject {
  return {
    apiVersion: "example.com/v1",
    kind: "Widget",
    metadata: meta(name, { generation: 2 }),
    spec: { size: "large", color: name },
    status: { ready: true },
  };
}

/** The value at `path` (object keys, array indexes), `undefined` where a step is missing. */
export function at(root: unknown, ...path: readonly (string | number)[]): unknown {
  let node = root;
  for (const key of path) {
    if (typeof node !== "object" || node === null) return undefined;
    node = (node as Record<string | number, unknown>)[key];
  }
  return node;
}

/** The object at `path`, for a test to read or edit; throws when there is none. */
export function edit(root: unknown, ...path: readonly (string | number)[]): Record<string, unknown> {
  const node = at(root, ...path);
  if (typeof node !== "object" || node === null) throw new TypeError(`No object at ${path.join(".")}`);
  return node as Record<string, unknown>;
}
