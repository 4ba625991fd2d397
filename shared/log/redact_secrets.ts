/**
 * Removes credentials from text about to be printed, logged or stored: the values of
 * `Authorization`-style headers (`Bearer ...`, `Basic ...`), private keys in PEM form, and the
 * values of kubeconfig fields that hold secrets. A last line of defence: messages are built without
 * secrets in the first place, and this catches what a library puts in its own error text (Deno's
 * fetch quotes a header value it refuses, line breaks included).
 */

const REDACTED = "[redacted]";

const RULES: readonly (readonly [RegExp, string])[] = [
  // a quoted header value, up to its closing quote (it may hold spaces and line breaks)
  [/(["'`])(Bearer|Basic)\s[^"'`]*(\1|$)/gi, `$1$2 ${REDACTED}$3`],
  [/\b(Bearer|Basic)\s+[^\s"'`,;]+/gi, `$1 ${REDACTED}`],
  [/-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----[\s\S]*?(-----END [A-Z0-9 ]*PRIVATE KEY-----|$)/g, REDACTED],
  // `"token": "..."` in JSON, `token: ...` starting a YAML line
  [
    /(["'])(authorization|token|password|client-key-data)\1(\s*:\s*)(["'])[^"']*\4/gi,
    `$1$2$1$3$4${REDACTED}$4`,
  ],
  [/^(\s*-?\s*(?:authorization|token|password|client-key-data)\s*:\s*)\S.*$/gim, `$1${REDACTED}`],
];

/** `text` with every credential it seems to hold replaced by `[redacted]`. */
export function redactSecrets(text: string): string {
  let out = text;
  for (const [pattern, replacement] of RULES) out = out.replace(pattern, replacement);
  return out;
}
