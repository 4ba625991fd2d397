/** Text helpers for config messages: quoting, describing values, paths and "did you mean" suggestions. */

const MAX_QUOTED = 60;

/** One step of a path into parsed YAML: a mapping key or a list index. */
export type PathSegment = string | number;

/** A value as it appears in a message: strings in double quotes (shortened), others as JSON. */
export function quote(value: unknown): string {
  if (typeof value === "string") {
    const short = value.length > MAX_QUOTED ? `${value.slice(0, MAX_QUOTED)}...` : value;
    return JSON.stringify(short);
  }
  return String(value);
}

/** Quoted values joined with commas: `"a", "b"`. */
export function quoteAll(values: readonly unknown[]): string {
  return values.map(quote).join(", ");
}

/** What a parsed YAML value is, for "expected X, got Y" messages. */
export function describeValue(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null (an empty value)";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  if (typeof value === "string") return `the string ${quote(value)}`;
  if (typeof value === "number") return `the number ${value}`;
  return quote(value);
}

/** A message used as the detail after a colon: first letter in lower case unless it starts an acronym. */
export function detail(message: string): string {
  const [first, second] = message;
  if (first === undefined || second === undefined) return message;
  return second === second.toLowerCase() ? first.toLowerCase() + message.slice(1) : message;
}

/** A zod-style path as users read it: `replications[0].source.cluster`, `storageClassMap["fast.ssd"]`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const segment of path) {
    if (typeof segment === "number") out += `[${segment}]`;
    else if (typeof segment === "string" && /^[A-Za-z_][A-Za-z0-9_-]*$/.test(segment)) {
      out += out === "" ? segment : `.${segment}`;
    } else out += `[${JSON.stringify(String(segment))}]`;
  }
  return out;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost);
    }
    previous = current;
  }
  return previous[b.length] ?? Math.max(a.length, b.length);
}

/** The candidate closest to `word` when it is close enough to be a likely typo, else `undefined`. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  const lower = word.toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    // the distance is at least the difference in length: skip what cannot be close (and long keys)
    if (Math.abs(candidate.length - word.length) > 2) continue;
    const distance = candidate.toLowerCase() === lower ? 0 : editDistance(lower, candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  const allowed = word.length <= 4 ? 1 : 2;
  return bestDistance <= allowed && bestDistance < word.length ? best : undefined;
}
