import assert from "node:assert/strict";
import type { KubeObject, ResourceType } from "../../shared/kube/types.ts";
import type { TransformContext, TransformOutcome } from "../../shared/plan/contracts.ts";
import { contentHash } from "../../shared/plan/content_hash.ts";
import { transformObject } from "../../shared/plan/transform_object.ts";
import {
  at,
  configMap,
  cronJob,
  customResource,
  daemonSet,
  deployment,
  edit,
  externalNameService,
  headlessService,
  helmReleaseSecret,
  hpa,
  ingress,
  job,
  loadBalancerService,
  nodePortService,
  pvc,
  roleBinding,
  serviceAccount,
  statefulSet,
  transformContext,
  TYPES,
} from "./_fixtures.ts";

type Copy = Extract<TransformOutcome, { action: "copy" }>;

/** The outcome, which must be a copy. */
function copy(obj: KubeObject, type: ResourceType, ctx: Partial<TransformContext> = {}): Copy {
  const outcome = transformObject(obj, type, transformContext(ctx));
  assert.equal(outcome.action, "copy", JSON.stringify(outcome));
  return outcome as Copy;
}

/** The transformed object, which must be a copy without errors. */
function transformed(obj: KubeObject, type: ResourceType, ctx: Partial<TransformContext> = {}): KubeObject {
  const outcome = copy(obj, type, ctx);
  assert.deepEqual(outcome.errors, []);
  return outcome.object;
}

// Metadata

Deno.test("removes the metadata the source cluster owns, and the status", () => {
  const source = deployment();
  source.metadata.selfLink = "/apis/apps/v1/namespaces/shop/deployments/web";
  source.metadata.finalizers = ["example.com/protect"];
  source.metadata.deletionGracePeriodSeconds = 30;
  source.metadata.generateName = "web-";
  source.metadata.ownerReferences = [];
  const out = transformed(source, TYPES.deployments);
  for (
    const field of [
      "uid",
      "resourceVersion",
      "selfLink",
      "creationTimestamp",
      "generation",
      "generateName",
      "managedFields",
      "ownerReferences",
      "finalizers",
      "deletionTimestamp",
      "deletionGracePeriodSeconds",
    ]
  ) {
    assert.equal(field in out.metadata, false, field);
  }
  assert.equal("status" in out, false);
});

Deno.test("removes the last-applied and deployment revision annotations and keeps the others", () => {
  const out = transformed(deployment(), TYPES.deployments);
  const annotations = out.metadata.annotations ?? {};
  assert.equal(annotations["kubectl.kubernetes.io/last-applied-configuration"], undefined);
  assert.equal(annotations["deployment.kubernetes.io/revision"], undefined);
  assert.equal(annotations["example.com/owner"], "payments");
  assert.equal(out.metadata.labels?.["app.kubernetes.io/part-of"], "shop");
  assert.equal(out.metadata.labels?.app, "web");
});

Deno.test("adds the managed-by label and the provenance annotations", () => {
  const source = configMap();
  const out = transformed(source, TYPES.configmaps);
  assert.equal(out.metadata.labels?.["app.kubernetes.io/managed-by"], "dr-syncer");
  assert.deepEqual(out.metadata.annotations, {
    "dr-syncer.io/source-cluster": "prod",
    "dr-syncer.io/source-namespace": "shop",
    "dr-syncer.io/source-uid": source.metadata.uid,
    "dr-syncer.io/source-resource-version": source.metadata.resourceVersion,
  });
});

Deno.test("keeps the source's managed-by value in an annotation (Helm keeps recognising its objects)", () => {
  const source = configMap();
  source.metadata.labels = { "app.kubernetes.io/managed-by": "Helm" };
  source.metadata.annotations = {
    "meta.helm.sh/release-name": "shop",
    "meta.helm.sh/release-namespace": "shop",
  };
  const out = transformed(source, TYPES.configmaps);
  assert.equal(out.metadata.labels?.["app.kubernetes.io/managed-by"], "dr-syncer");
  assert.equal(out.metadata.annotations?.["dr-syncer.io/original-managed-by"], "Helm");
  assert.equal(out.metadata.annotations?.["meta.helm.sh/release-name"], "shop");
});

Deno.test("drops a content hash the source carries (a DR copy copied back)", () => {
  const source = configMap();
  source.metadata.annotations = { "dr-syncer.io/content-hash": "ab12" };
  assert.equal(
    transformed(source, TYPES.configmaps).metadata.annotations?.["dr-syncer.io/content-hash"],
    undefined,
  );
});

Deno.test("puts the object in the DR namespace", () => {
  assert.equal(transformed(configMap(), TYPES.configmaps).metadata.namespace, "shop-dr");
});

Deno.test("copies a Helm release Secret with its labels and data", () => {
  const source = helmReleaseSecret();
  const out = transformed(source, TYPES.secrets);
  assert.equal(out.type, "helm.sh/release.v1");
  assert.deepEqual(out.data, source.data);
  assert.equal(out.metadata.labels?.owner, "helm");
});

Deno.test("rewrites RoleBinding subjects of the source namespace to the DR namespace", () => {
  const out = transformed(roleBinding(), TYPES.rolebindings);
  assert.deepEqual(out.subjects, [
    { kind: "ServiceAccount", name: "web", namespace: "shop-dr" },
    { kind: "ServiceAccount", name: "prometheus", namespace: "monitoring" },
    { apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: "shop-admins" },
  ]);
});

Deno.test("unlists the token Secrets Kubernetes generated for a ServiceAccount", () => {
  const out = transformed(serviceAccount("web"), TYPES.serviceaccounts);
  assert.deepEqual(out.secrets, [{ name: "registry-credentials" }]);
  assert.deepEqual(out.imagePullSecrets, [{ name: "registry-credentials" }]);
});

Deno.test("never mutates its input", () => {
  for (
    const [make, type] of [
      [deployment, TYPES.deployments],
      [statefulSet, TYPES.statefulsets],
      [daemonSet, TYPES.daemonsets],
      [cronJob, TYPES.cronjobs],
      [nodePortService, TYPES.services],
      [pvc, TYPES.persistentvolumeclaims],
      [ingress, TYPES.ingresses],
      [roleBinding, TYPES.rolebindings],
    ] as const
  ) {
    const source = make();
    const before = structuredClone(source);
    transformObject(
      source,
      type,
      transformContext({ ingressHostMap: { "shop.example.com": "shop.dr.example.com" } }),
    );
    assert.deepEqual(source, before, type.kind);
  }
});

/** Every object and array in `value`, at any depth. */
function containers(value: unknown, into = new Set<unknown>()): Set<unknown> {
  if (typeof value === "object" && value !== null) {
    into.add(value);
    for (const child of Object.values(value)) containers(child, into);
  }
  return into;
}

Deno.test("shares no object or array with its input, so that the output can be edited freely", () => {
  for (
    const [make, type] of [
      [deployment, TYPES.deployments],
      [statefulSet, TYPES.statefulsets],
      [job, TYPES.jobs],
      [nodePortService, TYPES.services],
      [pvc, TYPES.persistentvolumeclaims],
      [helmReleaseSecret, TYPES.secrets],
      [roleBinding, TYPES.rolebindings],
    ] as const
  ) {
    const source = make();
    const shared = [...containers(transformed(source, type))].filter((c) => containers(source).has(c));
    assert.deepEqual(shared, [], type.kind);
  }
});

Deno.test("gives the same output for the same source object, every time", () => {
  const source = deployment();
  const first = transformObject(source, TYPES.deployments, transformContext());
  const second = transformObject(structuredClone(source), TYPES.deployments, transformContext());
  assert.deepEqual(first, second);
  assert.equal(JSON.stringify(first), JSON.stringify(second));
});

Deno.test("removes creationTimestamp: null from embedded templates", () => {
  const deploy = transformed(deployment(), TYPES.deployments);
  assert.equal("creationTimestamp" in edit(deploy, "spec", "template", "metadata"), false);
  const cron = transformed(cronJob(), TYPES.cronjobs);
  assert.equal("creationTimestamp" in edit(cron, "spec", "jobTemplate", "metadata"), false);
  assert.equal(
    "creationTimestamp" in edit(cron, "spec", "jobTemplate", "spec", "template", "metadata"),
    false,
  );
  const sts = transformed(statefulSet(), TYPES.statefulsets);
  assert.deepEqual(at(sts, "spec", "volumeClaimTemplates", 0, "metadata"), { name: "data" });
});

Deno.test("copies a custom resource with its spec and without its status", () => {
  const out = transformed(customResource(), TYPES.widgets);
  assert.equal(out.apiVersion, "example.com/v1");
  assert.deepEqual(out.spec, { size: "large", color: "blue" });
  assert.equal("status" in out, false);
});

// Workloads and replicas

Deno.test("holds a Deployment at 0 replicas and records the source count", () => {
  const out = transformed(deployment(), TYPES.deployments);
  assert.equal(at(out, "spec", "replicas"), 0);
  assert.equal(out.metadata.annotations?.["dr-syncer.io/original-replicas"], "3");
});

Deno.test("counts a Deployment without spec.replicas as 1", () => {
  const source = deployment();
  delete edit(source, "spec").replicas;
  const out = transformed(source, TYPES.deployments);
  assert.equal(at(out, "spec", "replicas"), 0);
  assert.equal(out.metadata.annotations?.["dr-syncer.io/original-replicas"], "1");
});

Deno.test("holds a StatefulSet at 0 replicas and records the source count", () => {
  const out = transformed(statefulSet(), TYPES.statefulsets);
  assert.equal(at(out, "spec", "replicas"), 0);
  assert.equal(out.metadata.annotations?.["dr-syncer.io/original-replicas"], "2");
});

/** A ReplicaSet or ReplicationController nobody owns, made from the Deployment fixture. */
function unownedReplicas(kind: "ReplicaSet" | "ReplicationController"): KubeObject {
  const source = deployment("legacy");
  source.kind = kind;
  if (kind === "ReplicationController") {
    source.apiVersion = "v1";
    edit(source, "spec").selector = { app: "legacy" };
  }
  return source;
}
const REPLICATION_CONTROLLERS: ResourceType = {
  group: "",
  version: "v1",
  resource: "replicationcontrollers",
  kind: "ReplicationController",
  namespaced: true,
};

Deno.test("holds an unowned ReplicaSet or ReplicationController at 0 replicas like a Deployment", () => {
  for (
    const [kind, type] of [["ReplicaSet", TYPES.replicasets], [
      "ReplicationController",
      REPLICATION_CONTROLLERS,
    ]] as const
  ) {
    const out = transformed(unownedReplicas(kind), type);
    assert.equal(at(out, "spec", "replicas"), 0, kind);
    assert.equal(out.metadata.annotations?.["dr-syncer.io/original-replicas"], "3", kind);
    assert.equal(at(transformed(unownedReplicas(kind), type, { scaleToZero: false }), "spec", "replicas"), 3);

    const override = unownedReplicas(kind);
    override.metadata.labels = { ...override.metadata.labels, "dr-syncer.io/scale-override": "1" };
    assert.equal(at(transformed(override, type), "spec", "replicas"), 1, `${kind}: the override wins`);
    const bad = unownedReplicas(kind);
    bad.metadata.labels = { ...bad.metadata.labels, "dr-syncer.io/scale-override": "many" };
    const outcome = copy(bad, type);
    assert.equal(at(outcome.object, "spec", "replicas"), 0, `${kind}: a bad override gives 0`);
    assert.equal(outcome.errors.length, 1);
  }
});

Deno.test("scales to the count of the scale-override label", () => {
  const source = deployment();
  source.metadata.labels = { ...source.metadata.labels, "dr-syncer.io/scale-override": "1" };
  const out = transformed(source, TYPES.deployments);
  assert.equal(at(out, "spec", "replicas"), 1);
  assert.equal(out.metadata.annotations?.["dr-syncer.io/original-replicas"], "3");
  assert.equal(out.metadata.labels?.["dr-syncer.io/scale-override"], "1");
});

Deno.test("reports a scale-override that is not a non-negative integer, and copies at 0 replicas", () => {
  for (const value of ["-1", "two", "1.5", "", "99999999999"]) {
    const source = statefulSet();
    source.metadata.labels = { ...source.metadata.labels, "dr-syncer.io/scale-override": value };
    const outcome = copy(source, TYPES.statefulsets, { scaleToZero: false });
    assert.equal(at(outcome.object, "spec", "replicas"), 0, value);
    assert.deepEqual(outcome.errors, [
      `Label dr-syncer.io/scale-override must be a non-negative integer, not "${value}": DR gets 0 replicas`,
    ]);
  }
});

Deno.test("keeps the replica counts with scaleToZero: false", () => {
  const out = transformed(deployment(), TYPES.deployments, { scaleToZero: false });
  assert.equal(at(out, "spec", "replicas"), 3);
  assert.equal(out.metadata.annotations?.["dr-syncer.io/original-replicas"], "3");
});

Deno.test("trusts the replica count a cutover recorded on a source it scaled to zero", () => {
  for (const [make, type] of [[deployment, TYPES.deployments], [statefulSet, TYPES.statefulsets]] as const) {
    const source = make();
    edit(source, "spec").replicas = 0;
    source.metadata.annotations = { ...source.metadata.annotations, "dr-syncer.io/original-replicas": "4" };
    const out = transformed(source, type);
    assert.equal(at(out, "spec", "replicas"), 0, type.kind);
    assert.equal(out.metadata.annotations?.["dr-syncer.io/original-replicas"], "4", type.kind);
    assert.equal(at(transformed(source, type, { scaleToZero: false }), "spec", "replicas"), 4, type.kind);
  }
});

Deno.test("ignores a stale recorded replica count on a source that runs replicas: the live count wins", () => {
  for (const [make, type] of [[deployment, TYPES.deployments], [statefulSet, TYPES.statefulsets]] as const) {
    // A cutover failed after recording 4, then someone scaled the source back up by hand, to 5.
    const source = make();
    edit(source, "spec").replicas = 5;
    source.metadata.annotations = { ...source.metadata.annotations, "dr-syncer.io/original-replicas": "4" };
    const out = transformed(source, type);
    assert.equal(at(out, "spec", "replicas"), 0, type.kind);
    assert.equal(out.metadata.annotations?.["dr-syncer.io/original-replicas"], "5", type.kind);
    assert.equal(at(transformed(source, type, { scaleToZero: false }), "spec", "replicas"), 5, type.kind);
  }
  const unset = deployment();
  delete edit(unset, "spec").replicas;
  unset.metadata.annotations = { ...unset.metadata.annotations, "dr-syncer.io/original-replicas": "4" };
  assert.equal(
    transformed(unset, TYPES.deployments).metadata.annotations?.["dr-syncer.io/original-replicas"],
    "1",
    "a source without spec.replicas runs 1",
  );
});

Deno.test("trusts the suspend value a cutover recorded on a source it suspended", () => {
  for (const [make, type] of [[cronJob, TYPES.cronjobs], [job, TYPES.jobs]] as const) {
    const source = make();
    edit(source, "spec").suspend = true;
    source.metadata.annotations = {
      ...source.metadata.annotations,
      "dr-syncer.io/original-suspend": "false",
    };
    const out = transformed(source, type);
    assert.equal(at(out, "spec", "suspend"), true, type.kind);
    assert.equal(out.metadata.annotations?.["dr-syncer.io/original-suspend"], "false", type.kind);
    assert.equal(
      at(transformed(source, type, { scaleToZero: false }), "spec", "suspend"),
      true,
      `${type.kind}: a warm standby runs no schedules and no Jobs either`,
    );
  }
});

Deno.test("ignores a stale recorded suspend value on a source that is not suspended", () => {
  for (const [make, type] of [[cronJob, TYPES.cronjobs], [job, TYPES.jobs]] as const) {
    // The record says it was suspended before a cutover, but the source runs now: that is what DR gets.
    const source = make();
    edit(source, "spec").suspend = false;
    source.metadata.annotations = { ...source.metadata.annotations, "dr-syncer.io/original-suspend": "true" };
    const out = transformed(source, type);
    assert.equal(at(out, "spec", "suspend"), true, type.kind);
    assert.equal(out.metadata.annotations?.["dr-syncer.io/original-suspend"], "false", type.kind);
    assert.equal(
      at(transformed(source, type, { scaleToZero: false }), "spec", "suspend"),
      true,
      `${type.kind}: a warm standby runs no schedules and no Jobs either`,
    );
  }
});

Deno.test("suspends a CronJob and records the source value", () => {
  const out = transformed(cronJob(), TYPES.cronjobs);
  assert.equal(at(out, "spec", "suspend"), true);
  assert.equal(out.metadata.annotations?.["dr-syncer.io/original-suspend"], "false");

  const suspended = cronJob();
  edit(suspended, "spec").suspend = true;
  assert.equal(
    transformed(suspended, TYPES.cronjobs).metadata.annotations?.["dr-syncer.io/original-suspend"],
    "true",
  );
  assert.equal(
    at(transformed(cronJob(), TYPES.cronjobs, { scaleToZero: false }), "spec", "suspend"),
    true,
    "suspended on DR also with scaleToZero false",
  );
});

Deno.test("parks a DaemonSet on a nodeSelector that matches no node, keeping its own selectors", () => {
  const out = transformed(daemonSet(), TYPES.daemonsets);
  assert.deepEqual(at(out, "spec", "template", "spec", "nodeSelector"), {
    "kubernetes.io/os": "linux",
    "dr-syncer.io/disabled": "true",
  });
  const warm = transformed(daemonSet(), TYPES.daemonsets, { scaleToZero: false });
  assert.deepEqual(
    at(warm, "spec", "template", "spec", "nodeSelector"),
    { "kubernetes.io/os": "linux", "dr-syncer.io/disabled": "true" },
    "parked also with scaleToZero false",
  );
});

Deno.test("parks a DaemonSet that has no nodeSelector", () => {
  const source = daemonSet();
  delete edit(source, "spec", "template", "spec").nodeSelector;
  assert.deepEqual(at(transformed(source, TYPES.daemonsets), "spec", "template", "spec", "nodeSelector"), {
    "dr-syncer.io/disabled": "true",
  });
});

Deno.test("suspends a running Job and drops the selector and labels generated for the source's Job", () => {
  const out = transformed(job(), TYPES.jobs);
  assert.equal(at(out, "spec", "suspend"), true);
  assert.equal(out.metadata.annotations?.["dr-syncer.io/original-suspend"], "false");
  assert.equal(at(out, "spec", "selector"), undefined);
  assert.deepEqual(at(out, "spec", "template", "metadata"), { labels: {} });
});

Deno.test("keeps a Job's manual selector", () => {
  const source = job();
  edit(source, "spec").manualSelector = true;
  edit(source, "spec").selector = { matchLabels: { app: "migrate" } };
  edit(source, "spec", "template", "metadata").labels = { app: "migrate" };
  const out = transformed(source, TYPES.jobs);
  assert.deepEqual(at(out, "spec", "selector"), { matchLabels: { app: "migrate" } });
  assert.deepEqual(at(out, "spec", "template", "metadata", "labels"), { app: "migrate" });
});

Deno.test("copies a HorizontalPodAutoscaler as it is, so that it takes over after cutover", () => {
  const source = hpa();
  const out = transformed(source, TYPES.horizontalpodautoscalers);
  assert.deepEqual(out.spec, source.spec);
  assert.equal(out.apiVersion, "autoscaling/v2");
});

// Services and Ingresses

Deno.test("removes clusterIP and clusterIPs", () => {
  const out = transformed(nodePortService(), TYPES.services);
  assert.equal(at(out, "spec", "clusterIP"), undefined);
  assert.equal(at(out, "spec", "clusterIPs"), undefined);
});

Deno.test("keeps a headless Service headless", () => {
  const out = transformed(headlessService(), TYPES.services);
  assert.equal(at(out, "spec", "clusterIP"), "None");
  assert.deepEqual(at(out, "spec", "clusterIPs"), ["None"]);
});

Deno.test("removes externalIPs, loadBalancerIP, ipFamilies and ipFamilyPolicy", () => {
  for (const service of [nodePortService(), loadBalancerService(true), headlessService()]) {
    const out = edit(transformed(service, TYPES.services), "spec");
    for (const field of ["externalIPs", "loadBalancerIP", "ipFamilies", "ipFamilyPolicy"]) {
      assert.equal(field in out, false, `${service.metadata.name}: ${field}`);
    }
    assert.equal(out.sessionAffinity, "None", "defaulted fields stay");
  }
});

Deno.test("keeps the nodePorts set in the last-applied annotation and drops the allocated ones", () => {
  const out = transformed(nodePortService(), TYPES.services);
  assert.deepEqual(at(out, "spec", "ports"), [
    { name: "http", protocol: "TCP", port: 80, targetPort: 8080, nodePort: 30080 },
    { name: "https", protocol: "TCP", port: 443, targetPort: 8443 },
  ]);
});

Deno.test("keeps the nodePorts a field manager set explicitly (server-side apply)", () => {
  const out = transformed(loadBalancerService(true), TYPES.services);
  assert.equal(at(out, "spec", "ports", 0, "nodePort"), 32443);
  assert.equal(at(out, "spec", "healthCheckNodePort"), 31977);
});

Deno.test("drops allocated nodePorts and healthCheckNodePort when no manager set them", () => {
  const out = transformed(loadBalancerService(false), TYPES.services);
  assert.equal("nodePort" in edit(out, "spec", "ports", 0), false);
  assert.equal("healthCheckNodePort" in edit(out, "spec"), false);
  assert.equal(at(out, "spec", "externalTrafficPolicy"), "Local");
});

Deno.test("ignores nodePorts owned by the before-first-apply placeholder manager", () => {
  const source = loadBalancerService(true);
  const [entry] = source.metadata.managedFields as { manager: string }[];
  if (entry) entry.manager = "before-first-apply";
  assert.equal("nodePort" in edit(transformed(source, TYPES.services), "spec", "ports", 0), false);
});

Deno.test("keeps every nodePort with preserveNodePorts", () => {
  const out = transformed(nodePortService(), TYPES.services, { preserveNodePorts: true });
  assert.deepEqual([at(out, "spec", "ports", 0, "nodePort"), at(out, "spec", "ports", 1, "nodePort")], [
    30080,
    31544,
  ]);
  const lb = transformed(loadBalancerService(false), TYPES.services, { preserveNodePorts: true });
  assert.equal(at(lb, "spec", "healthCheckNodePort"), 31977);
});

Deno.test("warns about an unreadable last-applied annotation and drops the nodePorts it cannot vouch for", () => {
  const source = nodePortService();
  source.metadata.annotations = { "kubectl.kubernetes.io/last-applied-configuration": "{not json" };
  source.metadata.managedFields = [];
  const outcome = copy(source, TYPES.services);
  assert.equal(outcome.warnings.length, 1);
  assert.match(
    outcome.warnings[0] ?? "",
    /^Cannot read the annotation kubectl.kubernetes.io\/last-applied-configuration: /,
  );
  assert.equal(at(outcome.object, "spec", "ports", 0, "nodePort"), undefined);
  assert.equal(at(outcome.object, "spec", "ports", 1, "nodePort"), undefined);
});

Deno.test("copies an ExternalName Service as it is", () => {
  const source = externalNameService();
  const out = transformed(source, TYPES.services);
  assert.deepEqual(out.spec, source.spec);
  assert.equal(out.metadata.labels?.["app.kubernetes.io/managed-by"], "dr-syncer");
});

Deno.test("rewrites Ingress rule and TLS hosts through ingressHostMap, exact matches only", () => {
  const out = transformed(ingress(), TYPES.ingresses, {
    ingressHostMap: { "shop.example.com": "shop.dr.example.com", "example.com": "dr.example.com" },
  });
  assert.deepEqual([at(out, "spec", "rules", 0, "host"), at(out, "spec", "rules", 1, "host")], [
    "shop.dr.example.com",
    "api.shop.example.com",
  ]);
  assert.deepEqual(at(out, "spec", "tls", 0, "hosts"), ["shop.dr.example.com", "www.shop.example.com"]);
  assert.equal(at(out, "spec", "tls", 0, "secretName"), "shop-tls");
});

Deno.test("maps ingressClassName and the older class annotation through ingressClassMap", () => {
  const source = ingress();
  source.metadata.annotations = {
    ...source.metadata.annotations,
    "kubernetes.io/ingress.class": "nginx-prod",
  };
  const out = transformed(source, TYPES.ingresses, { ingressClassMap: { "nginx-prod": "nginx-dr" } });
  assert.equal(at(out, "spec", "ingressClassName"), "nginx-dr");
  assert.equal(out.metadata.annotations?.["kubernetes.io/ingress.class"], "nginx-dr");
  assert.equal(at(transformed(ingress(), TYPES.ingresses), "spec", "ingressClassName"), "nginx-prod");
});

// PersistentVolumeClaims

Deno.test("drops a claim's binding: volumeName, dataSource, dataSourceRef and binding annotations", () => {
  const out = transformed(pvc(), TYPES.persistentvolumeclaims);
  for (const field of ["volumeName", "dataSource", "dataSourceRef"]) {
    assert.equal(field in edit(out, "spec"), false, field);
  }
  for (
    const key of [
      "pv.kubernetes.io/bind-completed",
      "pv.kubernetes.io/bound-by-controller",
      "volume.kubernetes.io/storage-provisioner",
      "volume.beta.kubernetes.io/storage-provisioner",
      "volume.kubernetes.io/selected-node",
    ]
  ) {
    assert.equal(out.metadata.annotations?.[key], undefined, key);
  }
  assert.equal(out.metadata.annotations?.["example.com/backup"], "daily");
  assert.equal(out.metadata.finalizers, undefined);
  assert.deepEqual(at(out, "spec", "resources"), { requests: { storage: "20Gi" } });
});

Deno.test("maps the StorageClass through storageClassMap", () => {
  const out = transformed(pvc(), TYPES.persistentvolumeclaims, { storageClassMap: { fast: "standard" } });
  assert.equal(at(out, "spec", "storageClassName"), "standard");
});

Deno.test("the storage-class label wins over storageClassMap", () => {
  const source = pvc();
  source.metadata.labels = { ...source.metadata.labels, "dr-syncer.io/storage-class": "premium" };
  const out = transformed(source, TYPES.persistentvolumeclaims, { storageClassMap: { fast: "standard" } });
  assert.equal(at(out, "spec", "storageClassName"), "premium");
});

Deno.test("maps each access mode through accessModeMap", () => {
  const source = pvc();
  edit(source, "spec").accessModes = ["ReadWriteMany", "ReadWriteOnce"];
  const out = transformed(source, TYPES.persistentvolumeclaims, {
    accessModeMap: { ReadWriteMany: "ReadWriteOnce" },
  });
  assert.deepEqual(at(out, "spec", "accessModes"), ["ReadWriteOnce"]);
});

Deno.test("the access-mode label wins over accessModeMap, as a single mode", () => {
  const source = pvc();
  source.metadata.labels = { ...source.metadata.labels, "dr-syncer.io/access-mode": "ReadWriteOncePod" };
  const out = transformed(source, TYPES.persistentvolumeclaims, {
    accessModeMap: { ReadWriteMany: "ReadOnlyMany" },
  });
  assert.deepEqual(at(out, "spec", "accessModes"), ["ReadWriteOncePod"]);
});

Deno.test("refuses a claim whose access-mode label names no access mode", () => {
  const source = pvc();
  source.metadata.labels = { ...source.metadata.labels, "dr-syncer.io/access-mode": "Shared" };
  const outcome = transformObject(source, TYPES.persistentvolumeclaims, transformContext());
  assert.equal(outcome.action, "error");
  assert.match(
    outcome.action === "error" ? outcome.reason : "",
    /^Label dr-syncer.io\/access-mode names no access mode: "Shared"/,
  );
});

Deno.test("refuses a claim whose StorageClass does not exist on DR, naming the class", () => {
  const destStorageClasses = new Set(["standard"]);
  const cases: [Partial<TransformContext>, Record<string, string>, string][] = [
    [
      {},
      {},
      'StorageClass "fast" does not exist on the DR cluster: map it with storageClassMap or the label dr-syncer.io/storage-class',
    ],
    [
      { storageClassMap: { fast: "gp3" } },
      {},
      'StorageClass "gp3" (mapped from "fast" by storageClassMap) does not exist on the DR cluster',
    ],
    [
      {},
      { "dr-syncer.io/storage-class": "gp3" },
      'StorageClass "gp3" (set by the label dr-syncer.io/storage-class) does not exist on the DR cluster',
    ],
  ];
  for (const [ctx, labels, reason] of cases) {
    const source = pvc();
    source.metadata.labels = { ...source.metadata.labels, ...labels };
    assert.deepEqual(
      transformObject(source, TYPES.persistentvolumeclaims, transformContext({ ...ctx, destStorageClasses })),
      { action: "error", reason },
    );
  }
  const mapped = transformed(pvc(), TYPES.persistentvolumeclaims, {
    storageClassMap: { fast: "standard" },
    destStorageClasses,
  });
  assert.equal(at(mapped, "spec", "storageClassName"), "standard");
});

Deno.test("maps the claim templates of a StatefulSet like claims, warning about a missing class", () => {
  const outcome = copy(statefulSet(), TYPES.statefulsets, {
    storageClassMap: { fast: "standard" },
    accessModeMap: { ReadWriteOnce: "ReadWriteOncePod" },
    destStorageClasses: new Set(["premium"]),
  });
  const template = edit(outcome.object, "spec", "volumeClaimTemplates", 0);
  assert.equal(at(template, "spec", "storageClassName"), "standard");
  assert.deepEqual(at(template, "spec", "accessModes"), ["ReadWriteOncePod"]);
  assert.equal("status" in template, false);
  assert.deepEqual(outcome.warnings, [
    'StorageClass "standard" of volumeClaimTemplate "data" does not exist on the DR cluster',
  ]);
});

Deno.test("the transformed object hashes the same as a structurally equal copy", () => {
  const a = transformed(pvc(), TYPES.persistentvolumeclaims);
  assert.equal(contentHash(a), contentHash(structuredClone(a)));
});

Deno.test("holds a StatefulSet's claims on DR: whenScaled Delete becomes Retain, the original recorded", () => {
  const source = statefulSet();
  edit(source, "spec").persistentVolumeClaimRetentionPolicy = { whenScaled: "Delete", whenDeleted: "Retain" };
  const out = transformed(source, TYPES.statefulsets);
  assert.deepEqual(at(out, "spec", "persistentVolumeClaimRetentionPolicy"), {
    whenScaled: "Retain",
    whenDeleted: "Retain",
  });
  assert.equal(out.metadata.annotations?.["dr-syncer.io/original-pvc-retention-when-scaled"], "Delete");
  const retained = transformed(statefulSet(), TYPES.statefulsets);
  assert.equal(retained.metadata.annotations?.["dr-syncer.io/original-pvc-retention-when-scaled"], undefined);
});
