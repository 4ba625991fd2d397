/**
 * The layering rules `deno task check` enforces on the source tree:
 * - no import cycles between the project's modules (type-only imports count: they are a
 *   dependency to read, too);
 * - `shared/plan/` is pure: its files import only each other, the object types of
 *   `shared/kube/types.ts` and `shared/errors.ts` (plus `node:crypto` for hashing), so nothing
 *   there can reach the cluster client;
 * - `shared/` never imports the edges (`functions/`, `agent/`, `tests/`) and never reads the
 *   environment or writes to the console;
 * - every import goes down the layer order of `LAYERS` (the README's "Layers"): a file imports
 *   only files of its own folder or of a layer below its own, in `functions/` as in `shared/`; a
 *   folder that has no layer is a problem too (add it to the table).
 *
 *   deno run -A tests/tools/check_imports.ts [ROOT]   prints each problem; exits 1 when there is one
 */

const IMPORT = /(?:^|[;\s])(?:import|export)\s+(?:type\s+)?(?:[^'";]*?\s+from\s+)?["']([^"']+)["']/g;
const DYNAMIC = /import\(\s*["']([^"']+)["']\s*\)/g;
const SOURCE_DIRS = ["shared", "functions", "agent", "infra", "tests"];
const PLAN_MAY_IMPORT = [
  /^shared\/plan\//,
  /^shared\/kube\/types\.ts$/,
  /^shared\/errors\.ts$/,
  /^node:crypto$/,
];

/**
 * The layers, top first; each entry a folder (`functions/http/`), a file, or `functions/*` for
 * the files directly in `functions/`. Folders of one layer do not import each other.
 */
export const LAYERS: readonly (readonly string[])[] = [
  ["tests/"],
  ["functions/cli/"],
  ["functions/serve/", "functions/serverless/"],
  ["functions/http/", "functions/cron/", "functions/watch/", "functions/sources/"],
  ["functions/runtime/"],
  ["functions/operations/"],
  ["functions/*"],
  ["infra/", "agent/"],
  ["shared/pvc/"],
  ["shared/state/", "shared/sync/", "shared/runs/", "shared/credentials/", "shared/metrics/"],
  ["shared/config/"],
  ["shared/plan/"],
  ["shared/kube/"],
  ["shared/input/", "shared/async/"],
  ["shared/run_report.ts", "shared/errors.ts"],
  ["shared/log/"],
];

/** The layer entry a file belongs to and its rank (0: top), or `undefined` when no entry holds it. */
export function layerOf(
  file: string,
  layers: readonly (readonly string[])[] = LAYERS,
): { unit: string; rank: number } | undefined {
  let best: { unit: string; rank: number } | undefined;
  layers.forEach((entries, rank) => {
    for (const unit of entries) {
      const holds = unit.endsWith("/*")
        ? file.startsWith(unit.slice(0, -1)) && !file.slice(unit.length - 1).includes("/")
        : unit.endsWith("/")
        ? file.startsWith(unit)
        : file === unit;
      if (holds && (best === undefined || unit.length > best.unit.length)) best = { unit, rank };
    }
  });
  return best;
}

async function* sourceFiles(root: string, dir: string): AsyncGenerator<string> {
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(`${root}/${dir}`)];
  } catch {
    return;
  }
  for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory && entry.name !== "node_modules") yield* sourceFiles(root, path);
    else if (entry.isFile && /\.tsx?$/.test(entry.name)) yield path;
  }
}

/** `path` relative to the root, with `./` and `../` resolved; bare specifiers (npm:, node:, jsr) unchanged. */
function resolve(from: string, specifier: string): string {
  if (!specifier.startsWith(".")) return specifier;
  const parts = from.split("/").slice(0, -1);
  for (const part of specifier.split("/")) {
    if (part === "..") parts.pop();
    else if (part !== ".") parts.push(part);
  }
  return parts.join("/");
}

function withoutComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
}

/** The imports of every source file under `root`, by file (paths relative to `root`). */
export async function importGraph(root: string): Promise<Map<string, string[]>> {
  const graph = new Map<string, string[]>();
  for (const dir of SOURCE_DIRS) {
    for await (const file of sourceFiles(root, dir)) {
      const text = withoutComments(await Deno.readTextFile(`${root}/${file}`));
      const specifiers = [...text.matchAll(IMPORT), ...text.matchAll(DYNAMIC)].map((m) => m[1]!);
      graph.set(file, [...new Set(specifiers.map((s) => resolve(file, s)))]);
    }
  }
  return graph;
}

/** Each cycle once, as the list of files on it (Tarjan's strongly connected components). */
export function findCycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  let counter = 0;
  const index = new Map<string, number>(), low = new Map<string, number>();
  const stack: string[] = [], onStack = new Set<string>(), cycles: string[][] = [];
  const visit = (node: string) => {
    index.set(node, counter);
    low.set(node, counter++);
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!graph.has(next)) continue;
      if (!index.has(next)) {
        visit(next);
        low.set(node, Math.min(low.get(node)!, low.get(next)!));
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node)!, index.get(next)!));
      }
    }
    if (low.get(node) === index.get(node)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1 || (graph.get(node) ?? []).includes(node)) cycles.push(component.sort());
    }
  };
  for (const node of [...graph.keys()].sort()) if (!index.has(node)) visit(node);
  return cycles;
}

/** Every broken rule under `root`, one sentence each. */
export async function checkImports(root: string): Promise<string[]> {
  const graph = await importGraph(root);
  const problems: string[] = [];
  for (const cycle of findCycles(graph)) problems.push(`import cycle: ${cycle.join(" <-> ")}`);
  const unplaced = new Set<string>();
  for (const [file, imports] of graph) {
    const from = layerOf(file);
    if (from === undefined) {
      const folder = file.slice(0, file.lastIndexOf("/") + 1);
      if (!unplaced.has(folder)) {
        problems.push(`${folder} has no layer in LAYERS (tests/tools/check_imports.ts)`);
      }
      unplaced.add(folder);
    }
    for (const target of imports) {
      if (!graph.has(target) || from === undefined) continue;
      const to = layerOf(target);
      if (to === undefined || to.unit === from.unit || to.rank > from.rank) continue;
      if (file.startsWith("shared/") && /^(functions|agent|tests)\//.test(target)) continue; // said below
      problems.push(
        `${file} imports ${target}: ${to.unit} is not below ${from.unit} in the layer order (LAYERS)`,
      );
    }
    if (file.startsWith("shared/plan/")) {
      for (const target of imports) {
        if (!PLAN_MAY_IMPORT.some((allowed) => allowed.test(target))) {
          problems.push(
            `${file} imports ${target}: shared/plan/ is pure and must not reach the cluster client`,
          );
        }
      }
    }
    if (file.startsWith("shared/")) {
      for (const target of imports) {
        if (/^(functions|agent|tests)\//.test(target)) problems.push(`${file} imports the edge ${target}`);
      }
      const text = withoutComments(await Deno.readTextFile(`${root}/${file}`));
      if (/\bDeno\.env\b/.test(text)) problems.push(`${file} reads Deno.env: the edge hands settings in`);
    }
  }
  return problems;
}

if (import.meta.main) {
  const root = Deno.args[0] ?? new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
  const problems = await checkImports(root);
  // deno-lint-ignore no-console
  for (const problem of problems) console.error(problem);
  if (problems.length > 0) Deno.exit(1);
}
