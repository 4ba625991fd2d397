/**
 * Untrusted text read with a size limit: a config file or a kubeconfig of many megabytes is refused
 * before anything parses it, and a file that never ends (`/dev/zero`, a pipe) is read only up to the
 * limit.
 */
import { InvalidInputError } from "../errors.ts";

/** The largest config file or kubeconfig accepted: 2 MiB (a kubeconfig of 300 contexts with certificates is 1.5 MiB). */
export const MAX_INPUT_BYTES = 2 * 1024 * 1024;

/** A text input cannot be used as it is; `detail` says why, without its content. */
export class TextInputError extends InvalidInputError {
  override readonly name = "TextInputError";
  readonly detail: string;
  constructor(detail: string, options?: ErrorOptions) {
    super(detail, options);
    this.detail = detail;
  }
}

/** A byte count as people read it: `512 bytes`, `3.1 MiB`. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/** `size`: the size when known. */
function tooLarge(size: number | undefined, maxBytes: number): TextInputError {
  const limit = formatBytes(maxBytes);
  return new TextInputError(
    size === undefined
      ? `it is larger than the limit of ${limit}`
      : `it is ${formatBytes(size)}, over the limit of ${limit}`,
  );
}

/** Refuses text over `maxBytes` bytes of UTF-8 (for text from an environment variable, a Secret or a request). */
export function checkTextSize(text: string, maxBytes = MAX_INPUT_BYTES): void {
  // a UTF-16 code unit is at least one byte of UTF-8: only a text near the limit needs counting
  if (text.length > maxBytes) throw tooLarge(undefined, maxBytes);
  if (text.length * 3 > maxBytes) {
    const bytes = new TextEncoder().encode(text).length;
    if (bytes > maxBytes) throw tooLarge(bytes, maxBytes);
  }
}

function readFailure(error: unknown): string {
  if (error instanceof Deno.errors.NotFound) return "no such file";
  if (error instanceof Deno.errors.PermissionDenied) return "permission denied";
  if (error instanceof Deno.errors.IsADirectory) return "it is a directory";
  return error instanceof Error ? error.message : String(error);
}

/**
 * Reads a UTF-8 text file of at most `maxBytes` bytes.
 *
 * @throws {TextInputError} when the file cannot be read, is larger than `maxBytes`, or is not UTF-8 text
 */
export async function readTextInput(path: string, maxBytes = MAX_INPUT_BYTES): Promise<string> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (error) {
    throw new TextInputError(readFailure(error), { cause: error });
  }
  try {
    const info = await file.stat();
    if (info.isDirectory) throw new TextInputError("it is a directory");
    if (info.isFile && info.size > maxBytes) throw tooLarge(info.size, maxBytes);
    // read at most one byte more than allowed: a device or a pipe may not say its size
    const buffer = new Uint8Array(maxBytes + 1);
    let length = 0;
    while (length < buffer.length) {
      const n = await file.read(buffer.subarray(length));
      if (n === null) break;
      length += n;
    }
    if (length > maxBytes) throw tooLarge(undefined, maxBytes);
    try {
      return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(buffer.subarray(0, length));
    } catch (error) {
      throw new TextInputError("it is not UTF-8 text", { cause: error });
    }
  } catch (error) {
    if (error instanceof TextInputError) throw error;
    throw new TextInputError(readFailure(error), { cause: error });
  } finally {
    file.close();
  }
}
