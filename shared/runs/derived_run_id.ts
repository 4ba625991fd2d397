import { createHash } from "node:crypto";

/**
 * A run id derived from `parts` (an Idempotency-Key with its replication and operation, or a
 * schedule tick): the same parts give the same id on every replica, so the first replica to create
 * the run's record owns the run and the others find it. Shaped as a UUID (version 8, RFC 9562).
 */
export function derivedRunId(...parts: readonly string[]): string {
  const hex = createHash("sha256").update(parts.map((p) => `${p.length}:${p}`).join("\n")).digest("hex");
  const variant = ((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${
    hex.slice(20, 32)
  }`;
}
