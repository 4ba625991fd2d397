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

Deno.test("resolveVolume finds a CSI volume's mount folder and other plugins' folders by pod and name", async () => {
  await withRoot(async (root) => {
    await Deno.mkdir(`${root}/pods/p1/volumes/kubernetes.io~csi/pv-1/mount`, { recursive: true });
    await Deno.writeTextFile(`${root}/pods/p1/volumes/kubernetes.io~csi/pv-1/vol_data.json`, "{}");
    await Deno.mkdir(`${root}/pods/p1/volumes/kubernetes.io~empty-dir/cache`, { recursive: true });
    assert.equal(
      await resolveVolume(root, { podUid: "p1", volumeName: "pv-1" }),
      `${root}/pods/p1/volumes/kubernetes.io~csi/pv-1/mount`,
    );
    assert.equal(
      await resolveVolume(root, { podUid: "p1", volumeName: "cache" }),
      `${root}/pods/p1/volumes/kubernetes.io~empty-dir/cache`,
    );
    assert.equal(
      await resolveVolume(root, { path: "pods/p1/volumes/kubernetes.io~csi/pv-1/mount" }),
      `${root}/pods/p1/volumes/kubernetes.io~csi/pv-1/mount`,
    );
  });
});

Deno.test("resolveVolume refuses a volume that is missing, ambiguous, not a folder or reached by a symlink", async () => {
  await withRoot(async (root) => {
    await Deno.mkdir(`${root}/pods/p1/volumes/a~plugin/same`, { recursive: true });
    await Deno.mkdir(`${root}/pods/p1/volumes/b~plugin/same`, { recursive: true });
    await Deno.mkdir(`${root}/pods/p1/volumes/kubernetes.io~csi/no-mount`, { recursive: true });
    await Deno.mkdir(`${root}/pods/p2/volumes/x~plugin`, { recursive: true });
    await Deno.mkdir(`${root}/elsewhere`);
    await Deno.symlink(`${root}/elsewhere`, `${root}/pods/p2/volumes/x~plugin/linked`);
    await Deno.writeTextFile(`${root}/pods/p2/volumes/x~plugin/file`, "");
    await Deno.mkdir(`${root}/pods/p3/volumes/x~plugin/v/mount`, { recursive: true });
    await Deno.symlink(`${root}/pods/p3`, `${root}/pods/p4`);
    const cases: [Parameters<typeof resolveVolume>[1], RegExp][] = [
      [{ podUid: "nope", volumeName: "v" }, /is not on this node/],
      [{ podUid: "p1", volumeName: "nope" }, /is not on this node/],
      [{ podUid: "p1", volumeName: "same" }, /is ambiguous/],
      [{ podUid: "p1", volumeName: "no-mount" }, /is not on this node/],
      [{ podUid: "p2", volumeName: "linked" }, /is not on this node/],
      [{ podUid: "p2", volumeName: "file" }, /is not on this node/],
      [{ path: "pods/p2/volumes/x~plugin/linked" }, /through a symlink/],
      [{ path: "pods/p2/volumes/x~plugin/file" }, /is not a folder/],
      [{ path: "pods/p4/volumes/x~plugin/v/mount" }, /through a symlink/],
      [{ path: "pods/p9/volumes/x~plugin/v" }, /is not on this node/],
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
    await Deno.mkdir(`${dir}/real/pods/p/volumes/x~y/v`, { recursive: true });
    await Deno.symlink(`${dir}/real`, `${dir}/link`);
    assert.equal(
      await resolveVolume(`${dir}/link`, { podUid: "p", volumeName: "v" }),
      `${dir}/real/pods/p/volumes/x~y/v`,
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
