import assert from "node:assert/strict";
import { checkImports, findCycles } from "../tools/check_imports.ts";

async function tree(files: Record<string, string>): Promise<string> {
  const root = await Deno.makeTempDir();
  for (const [path, text] of Object.entries(files)) {
    await Deno.mkdir(`${root}/${path.slice(0, path.lastIndexOf("/"))}`, { recursive: true });
    await Deno.writeTextFile(`${root}/${path}`, text);
  }
  return root;
}

Deno.test("check_imports finds a cycle made of type-only imports", async () => {
  const root = await tree({
    "shared/kube/a.ts": 'import type { B } from "./b.ts";\nexport type A = B;\n',
    "shared/kube/b.ts": 'import type { A } from "./a.ts";\nexport type B = { a?: A };\n',
    "shared/kube/c.ts": 'export { x } from "../async/x.ts";\n',
    "shared/async/x.ts": "export const x = 1;\n",
  });
  try {
    assert.deepEqual(await checkImports(root), ["import cycle: shared/kube/a.ts <-> shared/kube/b.ts"]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("check_imports refuses a shared/plan/ file that reaches the cluster client or the environment", async () => {
  const root = await tree({
    "shared/plan/pure.ts":
      'import type { KubeObject } from "../kube/types.ts";\nexport type P = KubeObject;\n',
    "shared/plan/impure.ts":
      '/* a comment naming Deno.env is fine */\nimport { c } from "../kube/kube_client.ts";\n' +
      "export const e = c ?? Deno.env.get('X');\n",
    "shared/kube/types.ts": "export type KubeObject = object;\n",
    "shared/kube/kube_client.ts": "export const c = 1;\n",
    "shared/sync/edge.ts": 'import { main } from "../../functions/main.ts";\nexport { main };\n',
    "functions/main.ts": "export const main = 1;\n",
  });
  try {
    assert.deepEqual((await checkImports(root)).sort(), [
      "shared/plan/impure.ts imports shared/kube/kube_client.ts: shared/plan/ is pure and must not reach the cluster client",
      "shared/plan/impure.ts reads Deno.env: the edge hands settings in",
      "shared/sync/edge.ts imports the edge functions/main.ts",
    ]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("check_imports refuses an import up the layer order, in shared/ and in functions/", async () => {
  const root = await tree({
    "shared/kube/up.ts": 'import { s } from "../state/s.ts";\nexport const u = s;\n',
    "shared/state/s.ts": 'import { k } from "../kube/k.ts";\nexport const s = k;\n',
    "shared/kube/k.ts": "export const k = 1;\n",
    "shared/state/sideways.ts": 'import { y } from "../sync/y.ts";\nexport const w = y;\n',
    "shared/sync/y.ts": "export const y = 1;\n",
    "functions/runtime/r.ts": 'import { h } from "../http/h.ts";\nexport const r = h;\n',
    "functions/http/h.ts": 'import { o } from "../operations/o.ts";\nexport const h = o;\n',
    "functions/operations/o.ts": 'import { s } from "../../shared/state/s.ts";\nexport const o = s;\n',
    "functions/newfolder/n.ts": "export const n = 1;\n",
  });
  try {
    assert.deepEqual((await checkImports(root)).sort(), [
      "functions/newfolder/ has no layer in LAYERS (tests/tools/check_imports.ts)",
      "functions/runtime/r.ts imports functions/http/h.ts: functions/http/ is not below functions/runtime/ in the layer order (LAYERS)",
      "shared/kube/up.ts imports shared/state/s.ts: shared/state/ is not below shared/kube/ in the layer order (LAYERS)",
      "shared/state/sideways.ts imports shared/sync/y.ts: shared/sync/ is not below shared/state/ in the layer order (LAYERS)",
    ]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("check_imports reports a self-import and each cycle once", () => {
  const cycles = findCycles(
    new Map([["a", ["a"]], ["b", ["c"]], ["c", ["d"]], ["d", ["b"]], ["e", ["b"]]]),
  );
  assert.deepEqual(cycles, [["a"], ["b", "c", "d"]]);
});

Deno.test("check_imports passes on this repository", async () => {
  const root = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
  assert.deepEqual(await checkImports(root), []);
});
