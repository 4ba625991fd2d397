/**
 * The test environment's storage and prerequisites: the default StorageClass's provisioner (WaitForFirstConsumer,
 * a hostPath volume pinned to the pod's node, deleted with its claim, other classes left alone), clusters
 * that run without it getting it from `up` without a restart, per-cluster versions checked, and the test
 * runner stopping at once, with the one install command, when a system program is missing.
 */
import assert from "node:assert/strict";
import { connectCluster, type KubeClient, type KubeObject } from "../../shared/kube/mod.ts";

const SCRIPT = new URL("../testenv/testenv.sh", import.meta.url).pathname;
const RUN = new URL("../run.sh", import.meta.url).pathname;
const PREREQUISITES = new URL("../testenv/prerequisites.sh", import.meta.url).pathname;

type Obj = KubeObject & {
  spec?: Record<string, unknown> & { volumeName?: string; nodeName?: string };
  status?: { phase?: string };
};

async function sh(args: string[], env: Record<string, string>) {
  const out = await new Deno.Command("bash", { args, env, stdout: "piped", stderr: "piped" }).output();
  const text = new TextDecoder();
  return { code: out.code, stdout: text.decode(out.stdout), stderr: text.decode(out.stderr) };
}

async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const get = (c: KubeClient, path: string) => c.request<Obj>({ method: "GET", path });
const post = (c: KubeClient, path: string, body: unknown) => c.request<Obj>({ method: "POST", path, body });

Deno.test({
  name: "testenv: the default StorageClass's provisioner, and clusters that run without it",
  sanitizeResources: false,
  sanitizeOps: false,
}, async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "dr-syncer-storage-" });
  const env = { DR_SYNCER_TESTENV_DIR: dir, DR_SYNCER_TESTENV_CLUSTERS: "store" };
  let client: KubeClient | undefined;
  try {
    const up = await sh([SCRIPT, "up"], env);
    assert.equal(up.code, 0, up.stderr);
    assert.match(up.stderr, /cluster store ready .*default StorageClass standard/);
    client = await connectCluster("store", { path: `${dir}/store.kubeconfig` });
    const c = client;
    const ns = "volumes";
    await post(c, "/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: ns } });

    await t.step(
      "the default class: WaitForFirstConsumer, provisioned by the environment's provisioner",
      async () => {
        const sc = await get(c, "/apis/storage.k8s.io/v1/storageclasses/standard") as Obj & {
          provisioner: string;
          volumeBindingMode: string;
        };
        assert.equal(sc.metadata.annotations?.["storageclass.kubernetes.io/is-default-class"], "true");
        assert.equal(sc.provisioner, "testenv.dr-syncer.io/hostpath");
        assert.equal(sc.volumeBindingMode, "WaitForFirstConsumer");
      },
    );

    await t.step(
      "a StatefulSet's claim gets a volume on its pod's node; an unmounted claim waits",
      async () => {
        const claim = (name: string, storageClassName?: string) => ({
          apiVersion: "v1",
          kind: "PersistentVolumeClaim",
          metadata: { name, namespace: ns },
          spec: {
            accessModes: ["ReadWriteOnce"],
            resources: { requests: { storage: "2Gi" } },
            ...(storageClassName ? { storageClassName } : {}),
          },
        });
        await post(c, `/api/v1/namespaces/${ns}/persistentvolumeclaims`, claim("lonely"));
        // a class of another provisioner (as the PVC harness's): never this provisioner's claim
        await post(c, "/apis/storage.k8s.io/v1/storageclasses", {
          apiVersion: "storage.k8s.io/v1",
          kind: "StorageClass",
          metadata: { name: "elsewhere" },
          provisioner: "sim.csi.dr-syncer.io",
          volumeBindingMode: "Immediate",
        });
        await post(c, `/api/v1/namespaces/${ns}/persistentvolumeclaims`, claim("other", "elsewhere"));
        await post(c, `/apis/apps/v1/namespaces/${ns}/statefulsets`, {
          apiVersion: "apps/v1",
          kind: "StatefulSet",
          metadata: { name: "db", namespace: ns },
          spec: {
            replicas: 1,
            serviceName: "db",
            selector: { matchLabels: { app: "db" } },
            template: {
              metadata: { labels: { app: "db" } },
              spec: {
                containers: [{
                  name: "db",
                  image: "postgres:16",
                  volumeMounts: [{ name: "data", mountPath: "/d" }],
                }],
              },
            },
            volumeClaimTemplates: [{
              metadata: { name: "data" },
              spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "5Gi" } } },
            }],
          },
        });
        const pod = await eventually("db-0 running", async () => {
          const p = await get(c, `/api/v1/namespaces/${ns}/pods/db-0`);
          return p.status?.phase === "Running" ? p : undefined;
        });
        const bound = await get(c, `/api/v1/namespaces/${ns}/persistentvolumeclaims/data-db-0`);
        assert.equal(bound.status?.phase, "Bound");
        assert.equal(bound.spec?.storageClassName, "standard", "the default class");
        const pv = await get(c, `/api/v1/persistentvolumes/${bound.spec?.volumeName}`) as Obj & {
          spec: {
            capacity: { storage: string };
            hostPath: { path: string };
            nodeAffinity: { required: { nodeSelectorTerms: { matchExpressions: { values: string[] }[] }[] } };
          };
        };
        assert.equal(pv.metadata.name, `pvc-${bound.metadata.uid}`);
        assert.equal(
          pv.metadata.annotations?.["pv.kubernetes.io/provisioned-by"],
          "testenv.dr-syncer.io/hostpath",
        );
        assert.equal(pv.spec.capacity.storage, "5Gi");
        assert.deepEqual(pv.spec.nodeAffinity.required.nodeSelectorTerms[0]!.matchExpressions[0]!.values, [
          pod.spec?.nodeName,
        ]);
        assert.equal(pv.spec.hostPath.path, `${dir}/store/volumes/${pv.metadata.name}`);
        assert.ok((await Deno.stat(pv.spec.hostPath.path)).isDirectory, "the volume's folder exists");
        for (const name of ["lonely", "other"]) {
          const pending = await get(c, `/api/v1/namespaces/${ns}/persistentvolumeclaims/${name}`);
          assert.equal(pending.status?.phase, "Pending", name);
          assert.equal(pending.spec?.volumeName, undefined, name);
        }

        // the claim deleted (its StatefulSet first): the volume and its folder go (reclaim policy Delete)
        await c.request({ method: "DELETE", path: `/apis/apps/v1/namespaces/${ns}/statefulsets/db` });
        await c.request({
          method: "DELETE",
          path: `/api/v1/namespaces/${ns}/persistentvolumeclaims/data-db-0`,
        });
        await eventually(
          "the volume deleted",
          () => get(c, `/api/v1/persistentvolumes/${pv.metadata.name}`).then(() => undefined, () => true),
        );
        await eventually(
          "the folder removed",
          () => Deno.stat(pv.spec.hostPath.path).then(() => undefined, () => true),
        );
      },
    );

    await t.step(
      "a cluster running without its provisioner: status says 3, up starts it, nothing restarts",
      async () => {
        const pid = async (name: string) =>
          Number((await Deno.readTextFile(`${dir}/store/${name}.pid`)).trim());
        const apiserver = await pid("apiserver");
        Deno.kill(await pid("provisioner"), "SIGKILL");
        await eventually("the provisioner gone", async () => {
          const s = await sh([SCRIPT, "status"], env);
          return s.code === 3 ? s : undefined;
        });
        const status = await sh([SCRIPT, "status"], env);
        assert.match(status.stdout, /its volume provisioner is not running: "up" starts it/);
        const up = await sh([SCRIPT, "up"], env);
        assert.equal(up.code, 0, up.stderr);
        assert.match(
          up.stderr,
          /cluster store: volume provisioner started \(the cluster itself kept running\)/,
        );
        assert.equal((await sh([SCRIPT, "status"], env)).code, 0);
        assert.equal(await pid("apiserver"), apiserver, "the API server was not restarted");
      },
    );

    await t.step("a per-cluster version that is not a version is refused, naming its variable", async () => {
      const r = await sh([SCRIPT, "status"], { ...env, STORE_K8S_VERSION: "1.34" });
      assert.equal(r.code, 1);
      assert.match(
        r.stderr,
        /STORE_K8S_VERSION \(or K8S_VERSION\) must be a version like v1\.36\.3, not '1\.34'/,
      );
    });
  } finally {
    client?.close();
    await sh([SCRIPT, "down"], env);
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
});

Deno.test("deno task test stops at once, with the one install command, when a system program is missing", async () => {
  // a PATH with the basics and deno, without promtool, chromium, bwrap and the rest
  const bin = await Deno.makeTempDir({ prefix: "dr-syncer-path-" });
  try {
    for (const program of ["bash", "sed", "awk", "id", "cat", "tr", "dirname", "go"]) {
      const found = await sh(["-c", `command -v ${program}`], {});
      if (found.code === 0) await Deno.symlink(found.stdout.trim(), `${bin}/${program}`);
    }
    await Deno.symlink(Deno.execPath(), `${bin}/deno`);
    const started = Date.now();
    const r = await sh([RUN, "tests/unit/"], { PATH: bin, DR_SYNCER_TESTENV_DIR: `${bin}/never` });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /\[prerequisites\] missing: .*promtool \(Debian package prometheus\)/);
    const command = (await sh([PREREQUISITES, "command"], {})).stdout.trim();
    assert.match(command, /^apt-get update && apt-get install -y (?=.*\bprometheus\b)(?=.*\bbubblewrap\b)/);
    assert.ok(r.stderr.includes(`    ${command}\n`), r.stderr);
    assert.doesNotMatch(r.stderr, /running \d+ test/, "no test ran");
    assert.ok(Date.now() - started < 10_000, "it stops before starting clusters or tests");
    await assert.rejects(Deno.stat(`${bin}/never`), "no cluster was started");
  } finally {
    await Deno.remove(bin, { recursive: true });
  }
});
