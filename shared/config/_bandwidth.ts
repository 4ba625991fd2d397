const UNIT_KIB: Readonly<Record<string, number>> = { "": 1, k: 1, m: 1024, g: 1024 * 1024 };

/**
 * A bandwidth limit in KiB/s (the unit of rsync's `--bwlimit`), from a number of KiB/s or a string
 * such as `"10k"`, `"50M"` or `"1G"` (binary units, case-insensitive). Returns a reason on bad input.
 */
export function parseBandwidthLimit(value: number | string): { kib: number } | { problem: string } {
  let kib: number;
  if (typeof value === "number") {
    if (!Number.isFinite(value) || value <= 0) return { problem: "must be a positive number of KiB/s" };
    kib = value;
  } else {
    const match = /^(\d+(?:\.\d+)?)\s*([kmg]?)$/i.exec(value.trim());
    if (!match) {
      return { problem: `use a number of KiB/s or a rate such as "10k", "50M" or "1G"` };
    }
    kib = Number(match[1]) * (UNIT_KIB[(match[2] ?? "").toLowerCase()] ?? 1);
  }
  const rounded = Math.round(kib);
  if (rounded < 1) return { problem: "must be at least 1 KiB/s" };
  return { kib: rounded };
}
