/** Kubernetes resource quantities (`5Gi`, `500M`, `1.5e3`, `250m`), parsed exactly. */

const QUANTITY = /^([+-]?)(\d+\.?\d*|\.\d+)(?:(Ki|Mi|Gi|Ti|Pi|Ei)|[eE]([+-]?\d+)|(n|u|m|k|M|G|T|P|E))?$/;
const BINARY_POWER: Readonly<Record<string, bigint>> = {
  Ki: 10n,
  Mi: 20n,
  Gi: 30n,
  Ti: 40n,
  Pi: 50n,
  Ei: 60n,
};
const DECIMAL_EXPONENT: Readonly<Record<string, number>> = {
  n: -9,
  u: -6,
  m: -3,
  k: 3,
  M: 6,
  G: 9,
  T: 12,
  P: 15,
  E: 18,
};
/** Larger decimal exponents are refused rather than turned into enormous numbers. */
const MAX_EXPONENT = 100;

/** A quantity as the exact fraction `numerator / denominator` (denominator > 0). */
interface Fraction {
  readonly numerator: bigint;
  readonly denominator: bigint;
}

function parseFraction(value: string): Fraction {
  const match = QUANTITY.exec(value.trim());
  const exponentText = match?.[4];
  if (!match || (exponentText !== undefined && Math.abs(Number(exponentText)) > MAX_EXPONENT)) {
    throw new SyntaxError(`Cannot parse quantity "${value}"`);
  }
  const [, sign = "", digits = "", binary, , decimal] = match;
  const [whole = "", fraction = ""] = digits.split(".");
  let numerator = BigInt(`${whole}${fraction}` || "0") * (sign === "-" ? -1n : 1n);
  let denominator = 10n ** BigInt(fraction.length);
  if (binary !== undefined) numerator *= 2n ** (BINARY_POWER[binary] ?? 0n);
  const exponent = exponentText !== undefined
    ? Number(exponentText)
    : decimal
    ? DECIMAL_EXPONENT[decimal] ?? 0
    : 0;
  if (exponent >= 0) numerator *= 10n ** BigInt(exponent);
  else denominator *= 10n ** BigInt(-exponent);
  return { numerator, denominator };
}

/**
 * The value of a quantity in base units (bytes for storage): `"1Gi"` → 1073741824, `"250m"` → 0.25.
 * Throws `SyntaxError` when `value` is not a quantity.
 */
export function parseQuantity(value: string): number {
  const { numerator, denominator } = parseFraction(value);
  return Number(numerator) / Number(denominator);
}

/** Compares two quantities exactly: negative when `a < b`, 0 when equal, positive when `a > b`. */
export function compareQuantities(a: string, b: string): number {
  const x = parseFraction(a), y = parseFraction(b);
  const difference = x.numerator * y.denominator - y.numerator * x.denominator;
  return difference < 0n ? -1 : difference > 0n ? 1 : 0;
}
