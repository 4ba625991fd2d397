import assert from "node:assert/strict";
import {
  CommandRefusedError,
  resolveTransferPaths,
  resolveVolume,
  VolumeNotFoundError,
} from "../../agent/mod.ts";

async function withRoot(body: (root: string) => Promise<void>): Promise<void> {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "agent-resolve-" }));
  try {
    await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const CSI = "kubernetes.io~csi";

/** A CSI volume folder with the kubelet's record of it (`vol_data.json`), as the kubelet writes it. */
async function csiVolume(root: string, pod: string, name: string, data: Record<string, unknown> = {}) {
  const base = `${root}/pods/${pod}/volumes/${CSI}/${name}`;
  await Deno.mkdir(`${base}/mount`, { recursive: true });
  await Deno.writeTextFile(
    `${base}/vol_data.json`,
    JSON.stringify({ specVolID: name, volumeLifecycleMode: "Persistent", ...data }),
  );
  return `${base}/mount`;
}

Deno.test("resolveVolume finds a PersistentVolume's folder: a CSI volume's mount folder, in-tree PV plugins", async () => {
  await withRoot(async (root) => {
    const csi = await csiVolume(root, "p1", "pv-1");
    await Deno.mkdir(`${root}/pods/p1/volumes/kubernetes.io~local-volume/pv-2`, { recursive: true });
    await Deno.mkdir(`${root}/pods/p1/volumes/kubernetes.io~nfs/pv-3`, { recursive: true });
    assert.equal(await resolveVolume(root, { podUid: "p1", volumeName: "pv-1" }), csi);
    assert.equal(
      await resolveVolume(root, { podUid: "p1", volumeName: "pv-2" }),
      `${root}/pods/p1/volumes/kubernetes.io~local-volume/pv-2`,
    );
    assert.equal(await resolveVolume(root, { path: `pods/p1/volumes/${CSI}/pv-1/mount` }), csi);
    assert.equal(
      await resolveVolume(root, { path: "pods/p1/volumes/kubernetes.io~nfs/pv-3" }),
      `${root}/pods/p1/volumes/kubernetes.io~nfs/pv-3`,
    );
  });
});

Deno.test("resolveVolume finds no other kind of volume named like a PV: emptyDir, Secret, projected, inline CSI", async () => {
  await withRoot(async (root) => {
    for (const plugin of ["kubernetes.io~empty-dir", "kubernetes.io~secret", "kubernetes.io~projected"]) {
      await Deno.mkdir(`${root}/pods/p1/volumes/${plugin}/pv-x`, { recursive: true });
    }
    await csiVolume(root, "p2", "pv-x", { volumeLifecycleMode: "Ephemeral" });
    await csiVolume(root, "p3", "pv-x", { specVolID: "another-pv" });
    await Deno.mkdir(`${root}/pods/p4/volumes/${CSI}/pv-x/mount`, { recursive: true }); // no record
    await csiVolume(root, "p5", "pv-x");
    await Deno.writeTextFile(`${root}/pods/p5/volumes/${CSI}/pv-x/vol_data.json`, "not json");
    for (const podUid of ["p1", "p2", "p3", "p4", "p5"]) {
      await assert.rejects(
        resolveVolume(root, { podUid, volumeName: "pv-x" }),
        (error: unknown) => error instanceof VolumeNotFoundError && /is not on this node/.test(error.message),
        podUid,
      );
    }
    await assert.rejects(
      resolveVolume(root, { path: `pods/p2/volumes/${CSI}/pv-x/mount` }),
      VolumeNotFoundError,
    );
  });
});

Deno.test("resolveVolume refuses a volume that is missing, ambiguous, not a folder or reached by a symlink", async () => {
  await withRoot(async (root) => {
    await csiVolume(root, "p1", "same");
    await Deno.mkdir(`${root}/pods/p1/volumes/kubernetes.io~nfs/same`, { recursive: true });
    await Deno.mkdir(`${root}/pods/p2/volumes/kubernetes.io~nfs`, { recursive: true });
    await Deno.mkdir(`${root}/elsewhere`);
    await Deno.symlink(`${root}/elsewhere`, `${root}/pods/p2/volumes/kubernetes.io~nfs/linked`);
    await Deno.writeTextFile(`${root}/pods/p2/volumes/kubernetes.io~nfs/file`, "");
    await csiVolume(root, "p3", "v");
    await Deno.symlink(`${root}/pods/p3`, `${root}/pods/p4`);
    const cases: [Parameters<typeof resolveVolume>[1], RegExp][] = [
      [{ podUid: "nope", volumeName: "v" }, /is not on this node/],
      [{ podUid: "p1", volumeName: "nope" }, /is not on this node/],
      [{ podUid: "p1", volumeName: "same" }, /is ambiguous/],
      [{ podUid: "p2", volumeName: "linked" }, /is not on this node/],
      [{ podUid: "p2", volumeName: "file" }, /is not on this node/],
      [{ path: "pods/p2/volumes/kubernetes.io~nfs/linked" }, /is not on this node/],
      [{ path: "pods/p2/volumes/kubernetes.io~nfs/file" }, /is not on this node/],
      [{ path: `pods/p4/volumes/${CSI}/v/mount` }, /through a symlink/],
      [{ path: "pods/p9/volumes/kubernetes.io~nfs/v" }, /is not on this node/],
    ];
    for (const [ref, message] of cases) {
      await assert.rejects(resolveVolume(root, ref), (error: unknown) => {
        assert.ok(error instanceof VolumeNotFoundError, `${JSON.stringify(ref)}: ${error}`);
        assert.match(error.message, message, JSON.stringify(ref));
        return true;
      });
    }
  });
});

Deno.test("resolveVolume works through a symlinked root (the kubelet root may be a link)", async () => {
  await withRoot(async (dir) => {
    await Deno.mkdir(`${dir}/real/pods/p/volumes/kubernetes.io~local-volume/v`, { recursive: true });
    await Deno.symlink(`${dir}/real`, `${dir}/link`);
    assert.equal(
      await resolveVolume(`${dir}/link`, { podUid: "p", volumeName: "v" }),
      `${dir}/real/pods/p/volumes/kubernetes.io~local-volume/v`,
    );
  });
});

Deno.test("resolveTransferPaths makes paths relative to the volume and keeps trailing slashes", async () => {
  await withRoot(async (volume) => {
    await Deno.mkdir(`${volume}/a/b`, { recursive: true });
    assert.deepEqual(
      await resolveTransferPaths(volume, [
        ".",
        "./",
        "a",
        "a/b/",
        "./a//b/./",
        "new/folder/",
        volume,
        `${volume}/`,
        `${volume}/a/b`,
        `${volume}//a/./b/`,
        "-dash",
      ]),
      [".", "./", "a", "a/b/", "a/b/", "new/folder/", ".", "./", "a/b", "a/b/", "./-dash"],
    );
  });
});

Deno.test("resolveTransferPaths refuses paths outside the volume and through symlinks", async () => {
  await withRoot(async (dir) => {
    const volume = `${dir}/volume`;
    await Deno.mkdir(`${volume}/inside`, { recursive: true });
    await Deno.mkdir(`${dir}/outside`);
    await Deno.mkdir(`${dir}/volume-sibling`);
    await Deno.symlink(`${dir}/outside`, `${volume}/escape`);
    await Deno.symlink("inside", `${volume}/inner-link`);
    await Deno.symlink(`${dir}/outside`, `${volume}/inside/deep-escape`);
    const cases: [string, RegExp][] = [
      ["/", /outside the volume/],
      ["/etc/passwd", /outside the volume/],
      [`${dir}/outside/`, /outside the volume/],
      [`${dir}/volume-sibling/`, /outside the volume/],
      [dir, /outside the volume/],
      ["escape", /symlink in the volume \("escape"\)/],
      ["escape/", /symlink/],
      ["escape/new/file", /symlink/],
      ["inner-link/", /symlink/],
      ["inside/deep-escape/x", /symlink in the volume \("inside\/deep-escape"\)/],
      [`${volume}/escape/`, /symlink/],
      ["inside/../..", /contains "\.\."/],
    ];
    for (const [path, message] of cases) {
      await assert.rejects(resolveTransferPaths(volume, [path]), (error: unknown) => {
        assert.ok(error instanceof CommandRefusedError, `${path}: ${error}`);
        assert.match(error.message, message, path);
        return true;
      });
    }
    await assert.rejects(resolveTransferPaths(volume, ["inside", "escape"]), CommandRefusedError);
  });
});
