/** Generators and measures shared by the bad-input tests: mutated text, binary garbage, CPU time. */
import fc from "fast-check";

/**
 * CPU time of the calling thread in milliseconds (10 ms steps), from /proc: unlike the wall clock,
 * it does not grow when other tests or processes share the machine's cores.
 */
export function threadCpuMs(): number {
  try {
    const stat = Deno.readTextFileSync("/proc/thread-self/stat");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return performance.now();
  }
}

/** Runs `fn` and returns what it threw (`undefined` when it returned) and its CPU time. */
export async function measured(
  fn: () => unknown,
): Promise<{ error: unknown; cpuMs: number; wallMs: number }> {
  const cpu = threadCpuMs(), wall = performance.now();
  let error: unknown;
  try {
    await fn();
  } catch (e) {
    error = e;
  }
  return { error, cpuMs: threadCpuMs() - cpu, wallMs: performance.now() - wall };
}

/** One edit of a text: a span cut, text inserted, a line doubled, a character swapped for a YAML indicator. */
type Edit =
  | { readonly kind: "cut"; readonly at: number; readonly length: number }
  | { readonly kind: "insert"; readonly at: number; readonly text: string }
  | { readonly kind: "double-line"; readonly at: number }
  | { readonly kind: "indicator"; readonly at: number; readonly char: string };

const YAML_SPECIAL = [
  "*",
  "&",
  "!",
  "|",
  ">",
  "'",
  '"',
  "%",
  "@",
  "`",
  "{",
  "}",
  "[",
  "]",
  ":",
  "-",
  "#",
  "\t",
  "\n",
];

const edit: fc.Arbitrary<Edit> = fc.oneof(
  fc.record({ kind: fc.constant("cut" as const), at: fc.nat(), length: fc.integer({ min: 1, max: 40 }) }),
  fc.record({
    kind: fc.constant("insert" as const),
    at: fc.nat(),
    text: fc.oneof(
      fc.string({ maxLength: 20 }),
      fc.string({ unit: "binary", maxLength: 20 }),
      fc.constantFrom(
        ...YAML_SPECIAL,
        "*a",
        "&a ",
        "<<: *a",
        "\n  ",
        "\n- ",
        "\u0000",
        "\ufeff",
        "key: value\n",
      ),
    ),
  }),
  fc.record({ kind: fc.constant("double-line" as const), at: fc.nat() }),
  fc.record({
    kind: fc.constant("indicator" as const),
    at: fc.nat(),
    char: fc.constantFrom(...YAML_SPECIAL),
  }),
);

function applyEdit(text: string, e: Edit): string {
  const at = text.length === 0 ? 0 : e.at % (text.length + 1);
  switch (e.kind) {
    case "cut":
      return text.slice(0, at) + text.slice(at + e.length);
    case "insert":
      return text.slice(0, at) + e.text + text.slice(at);
    case "double-line": {
      const start = text.lastIndexOf("\n", at - 1) + 1;
      const end = text.indexOf("\n", at);
      const line = text.slice(start, end < 0 ? undefined : end + 1);
      return text.slice(0, start) + line + line + text.slice(start + line.length);
    }
    case "indicator":
      return text.slice(0, at) + e.char + text.slice(at + 1);
  }
}

/** `text` after one to five random edits. */
export function mutated(text: string): fc.Arbitrary<string> {
  return fc.array(edit, { minLength: 1, maxLength: 5 }).map((edits) => edits.reduce(applyEdit, text));
}

/** Bytes of any value, decoded as Latin-1 (every byte a character): what a binary file reads as. */
export const binaryGarbage: fc.Arbitrary<string> = fc.uint8Array({ maxLength: 2000 }).map((bytes) =>
  String.fromCharCode(...bytes)
);

/** A YAML alias bomb: `levels` levels of ten aliases each (10^levels values when expanded). */
export function aliasBomb(levels = 9): string {
  const lines = [`l0: &l0 ["x","x","x","x","x","x","x","x","x","x"]`];
  for (let i = 1; i < levels; i++) lines.push(`l${i}: &l${i} [${Array(10).fill(`*l${i - 1}`).join(",")}]`);
  return `${lines.join("\n")}\n`;
}
