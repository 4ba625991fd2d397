import type { KubeObject } from "../../shared/kube/types.ts";

/**
 * The sample app the demo seeds: a small shop with every kind stage handles. Its claims name no
 * StorageClass, so they get the cluster's default one (on the local clusters: "standard", whose
 * provisioner makes a volume once the first pod that mounts the claim is scheduled): the web pods
 * mount `uploads`, and the database's StatefulSet gets `data-db-0` from its volumeClaimTemplate.
 */
export function sampleApp(namespace: string): KubeObject[] {
  const labels = (app: string) => ({ app, "app.kubernetes.io/part-of": "shop" });
  /** A pod template; `mounts` are its volumes' mount paths, a claim named for those the pod brings itself. */
  const pod = (
    app: string,
    image: string,
    port: number,
    mounts: readonly { name: string; mountPath: string; claim?: string }[] = [],
  ) => {
    const claims = mounts.filter((m) => m.claim !== undefined);
    return {
      metadata: { labels: labels(app) },
      spec: {
        containers: [{
          name: app,
          image,
          ports: [{ containerPort: port }],
          ...(mounts.length > 0
            ? { volumeMounts: mounts.map(({ name, mountPath }) => ({ name, mountPath })) }
            : {}),
        }],
        ...(claims.length > 0
          ? { volumes: claims.map((m) => ({ name: m.name, persistentVolumeClaim: { claimName: m.claim } })) }
          : {}),
      },
    };
  };
  const meta = (name: string, app = name) => ({ name, namespace, labels: labels(app) });
  return [
    {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: meta("shop-config", "shop"),
      data: { currency: "EUR", region: "eu-west" },
    },
    {
      apiVersion: "v1",
      kind: "Secret",
      metadata: meta("shop-db-credentials", "db"),
      type: "Opaque",
      stringData: { username: "shop", password: "demo-only-password" },
    },
    {
      apiVersion: "v1",
      kind: "PersistentVolumeClaim",
      metadata: meta("uploads", "web"),
      spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
    },
    {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: meta("web"),
      spec: {
        replicas: 3,
        selector: { matchLabels: { app: "web" } },
        template: pod("web", "nginx:1.27", 80, [
          { name: "uploads", mountPath: "/usr/share/nginx/html/uploads", claim: "uploads" },
        ]),
      },
    },
    {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: meta("api"),
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: "api" } },
        template: pod("api", "ghcr.io/example/shop-api:2.4", 8080),
      },
    },
    {
      apiVersion: "apps/v1",
      kind: "StatefulSet",
      metadata: meta("db"),
      spec: {
        replicas: 1,
        serviceName: "db",
        selector: { matchLabels: { app: "db" } },
        template: pod("db", "postgres:16", 5432, [{ name: "data", mountPath: "/var/lib/postgresql/data" }]),
        volumeClaimTemplates: [{
          metadata: { name: "data" },
          spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "5Gi" } } },
        }],
      },
    },
    {
      apiVersion: "batch/v1",
      kind: "CronJob",
      metadata: meta("nightly-report"),
      spec: {
        schedule: "0 3 * * *",
        jobTemplate: {
          spec: {
            template: {
              spec: {
                restartPolicy: "OnFailure",
                containers: [{ name: "report", image: "ghcr.io/example/shop-report:1.0" }],
              },
            },
          },
        },
      },
    },
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: meta("web"),
      spec: { selector: { app: "web" }, ports: [{ port: 80, targetPort: 80 }] },
    },
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: meta("api"),
      spec: { type: "NodePort", selector: { app: "api" }, ports: [{ port: 8080, targetPort: 8080 }] },
    },
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: meta("db"),
      spec: { clusterIP: "None", selector: { app: "db" }, ports: [{ port: 5432 }] },
    },
    {
      apiVersion: "networking.k8s.io/v1",
      kind: "Ingress",
      metadata: meta("shop", "web"),
      spec: {
        rules: [{
          host: "shop.example.com",
          http: {
            paths: [{
              path: "/",
              pathType: "Prefix",
              backend: { service: { name: "web", port: { number: 80 } } },
            }],
          },
        }],
      },
    },
    {
      apiVersion: "autoscaling/v2",
      kind: "HorizontalPodAutoscaler",
      metadata: meta("api"),
      spec: {
        scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "api" },
        minReplicas: 2,
        maxReplicas: 6,
        metrics: [{
          type: "Resource",
          resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 70 } },
        }],
      },
    },
  ];
}
