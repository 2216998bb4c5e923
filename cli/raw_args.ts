/**
 * Which command-line arguments were not valid UTF-8. `Deno.args` decodes the
 * process's argv lossily: a byte like 0xff becomes U+FFFD, so a DEST or an
 * `--env` value would silently name another file or carry another value.
 *
 * The sound way to tell is the bytes themselves: `/proc/self/cmdline` holds
 * the argv exactly as `execve` got it, NUL-terminated, and `Deno.args` are its
 * last entries (the script's arguments follow Deno's own and the script path;
 * a compiled binary has only the program name before them). Only an argument
 * that contains U+FFFD can have been changed by the decoding, so the file is
 * read only then; such an argument is accepted when its bytes are valid UTF-8
 * (a real U+FFFD), and refused when they are not, or cannot be read (no
 * `/proc`, or `argv` is not this process's `Deno.args`).
 *
 * @module
 */

const strict = new TextDecoder("utf-8", { fatal: true });

/**
 * The indexes in `argv` of arguments that were not valid UTF-8 (or may not
 * have been: see the module doc).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { notUtf8Arguments } from "./raw_args.ts";
 * assert.equal(notUtf8Arguments(["convert", "a.tar", "/var/lib/lxc/web"]).length, 0);
 * ```
 */
export function notUtf8Arguments(argv: readonly string[]): number[] {
  const suspects = argv.flatMap((arg, i) => arg.includes("\uFFFD") ? [i] : []);
  if (suspects.length === 0) return [];
  const raw = processArguments();
  const same = raw !== undefined && argv.length === Deno.args.length && argv.every((a, i) => a === Deno.args[i]);
  return suspects.filter((i) => !same || !isUtf8(raw[i]!));
}

/** The bytes of this process's `Deno.args`, or undefined when `/proc/self/cmdline` cannot be read or does not fit. */
function processArguments(): Uint8Array[] | undefined {
  let bytes: Uint8Array;
  try {
    bytes = Deno.readFileSync("/proc/self/cmdline");
  } catch {
    return undefined;
  }
  const entries: Uint8Array[] = [];
  let start = 0;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === 0) {
      entries.push(bytes.subarray(start, i));
      start = i + 1;
    }
  }
  if (entries.length < Deno.args.length) return undefined;
  const tail = entries.slice(entries.length - Deno.args.length);
  // The lossy decoding of each entry must give Deno's string back, or these are not the same arguments.
  const lossy = new TextDecoder();
  return tail.every((b, i) => lossy.decode(b) === Deno.args[i]) ? tail : undefined;
}

function isUtf8(bytes: Uint8Array): boolean {
  try {
    strict.decode(bytes);
    return true;
  } catch {
    return false;
  }
}
