/** The test environment's own failure modes: clear messages, no hang, nothing left behind. */
import assert from "node:assert/strict";

const script = new URL("../testenv/testenv.sh", import.meta.url).pathname;

async function testenv(args: string[], env: Record<string, string>) {
  const out = await new Deno.Command("bash", {
    args: [script, ...args],
    env,
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

Deno.test("testenv: a missing Go toolchain is a clear error, not a hang", async () => {
  const cache = await Deno.makeTempDir();
  try {
    const r = await testenv(["build"], { PATH: "/usr/bin:/bin", DR_SYNCER_TESTENV_CACHE: cache });
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /\[testenv\] error: go is not installed: the Kubernetes test binaries are compiled/,
    );
  } finally {
    await Deno.remove(cache, { recursive: true });
  }
});

Deno.test("testenv: a version the module proxy does not serve fails the build with its name", async () => {
  const cache = await Deno.makeTempDir();
  try {
    const r = await testenv(["build"], { DR_SYNCER_TESTENV_CACHE: cache, ETCD_VERSION: "v9.9.9" });
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /go\.etcd\.io\/etcd\/server\/v3@v9\.9\.9 cannot be downloaded from the Go module proxy/,
    );
    const left = [...Deno.readDirSync(cache)].map((e) => e.name).filter((n) => n.startsWith("tmp."));
    assert.deepEqual(left, [], "the failed build's work folder is removed");
  } finally {
    await Deno.remove(cache, { recursive: true });
  }
});

Deno.test("testenv: an unknown command prints the usage and exits 2", async () => {
  const r = await testenv(["sideways"], {});
  assert.equal(r.code, 2);
  assert.match(r.stderr, /testenv\.sh up/);
});

Deno.test("testenv: status of clusters that are not running says so and exits 1", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const out = await new Deno.Command("bash", {
      args: [script, "status"],
      env: { DR_SYNCER_TESTENV_DIR: dir, DR_SYNCER_TESTENV_CLUSTERS: "alpha" },
      stdout: "piped",
    }).output();
    assert.equal(out.code, 1);
    assert.match(new TextDecoder().decode(out.stdout), /^alpha\s+stopped/m);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
