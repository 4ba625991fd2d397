import type { KubeObject } from "../../shared/kube/types.ts";

/** The stage benchmark's namespace: per 1,000 objects 400 ConfigMaps, 200 Secrets, 150 Deployments, 150 Services, 50 Ingresses, 50 PVCs. */
export function benchObjects(namespace: string, total: number): KubeObject[] {
  const n = (share: number) => Math.round((total * share) / 1000);
  const out: KubeObject[] = [];
  const meta = (name: string) => ({ name, namespace, labels: { app: name, tier: "bench" } });
  for (let i = 0; i < n(400); i++) {
    out.push({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: meta(`cm-${i}`),
      data: { "app.properties": `key=${i}\n`.repeat(20) },
    });
  }
  for (let i = 0; i < n(200); i++) {
    out.push({
      apiVersion: "v1",
      kind: "Secret",
      metadata: meta(`secret-${i}`),
      type: "Opaque",
      stringData: { password: `p${i}` },
    });
  }
  for (let i = 0; i < n(150); i++) {
    out.push({
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: meta(`deploy-${i}`),
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: `deploy-${i}` } },
        template: {
          metadata: { labels: { app: `deploy-${i}` } },
          spec: {
            containers: [{
              name: "app",
              image: "nginx:1.27",
              ports: [{ containerPort: 80 }],
              env: [{ name: "N", value: String(i) }],
            }],
          },
        },
      },
    });
  }
  for (let i = 0; i < n(150); i++) {
    out.push({
      apiVersion: "v1",
      kind: "Service",
      metadata: meta(`svc-${i}`),
      spec: { selector: { app: `deploy-${i}` }, ports: [{ port: 80 }] },
    });
  }
  for (let i = 0; i < n(50); i++) {
    out.push({
      apiVersion: "networking.k8s.io/v1",
      kind: "Ingress",
      metadata: meta(`ing-${i}`),
      spec: {
        rules: [{
          host: `app${i}.example.com`,
          http: {
            paths: [{
              path: "/",
              pathType: "Prefix",
              backend: { service: { name: `svc-${i}`, port: { number: 80 } } },
            }],
          },
        }],
      },
    });
  }
  for (let i = 0; i < n(50); i++) {
    out.push({
      apiVersion: "v1",
      kind: "PersistentVolumeClaim",
      metadata: meta(`pvc-${i}`),
      spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
    });
  }
  return out;
}

/** The cutover benchmark's workloads. */
export function scalableObjects(namespace: string, deployments: number, statefulSets: number): KubeObject[] {
  const pod = (app: string) => ({
    metadata: { labels: { app } },
    spec: { containers: [{ name: "app", image: "nginx:1.27" }] },
  });
  return [
    ...Array.from({ length: deployments }, (_, i) => ({
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: `deploy-${i}`, namespace },
      spec: {
        replicas: 1 + (i % 3),
        selector: { matchLabels: { app: `deploy-${i}` } },
        template: pod(`deploy-${i}`),
      },
    })),
    ...Array.from({ length: statefulSets }, (_, i) => ({
      apiVersion: "apps/v1",
      kind: "StatefulSet",
      metadata: { name: `sts-${i}`, namespace },
      spec: {
        replicas: 1 + (i % 2),
        serviceName: `sts-${i}`,
        selector: { matchLabels: { app: `sts-${i}` } },
        template: pod(`sts-${i}`),
      },
    })),
  ];
}
