/**
 * Errors that callers catch. Each carries a stable `code` for scripts, an
 * exit code for the CLI, and an optional hint that tells the user what to do.
 *
 * Messages follow the house style: `Cannot <action>: <reason>`.
 *
 * @module
 */

/** Stable error codes; the CLI maps them to exit codes ({@linkcode EXIT_CODES}). */
export type ErrorCode =
  | "usage" // the caller's words are wrong (exit 2)
  | "image" // the image is malformed or cannot be read (exit 3)
  | "digest" // a blob does not match its digest or size (exit 4)
  | "platform" // no manifest for the requested platform (exit 5)
  | "rootfs" // a layer cannot be applied (exit 6)
  | "config" // the image config cannot be represented in LXC (exit 7)
  | "plugin" // a plugin hook failed (exit 8)
  | "destination" // DEST exists, or it (or the cache or a temporary file) cannot be written (exit 9)
  | "registry" // a registry cannot be reached, refuses us, or lacks the image (exit 10)
  | "interrupted"; // SIGINT/SIGTERM (exit 130)

/**
 * Exit codes by error code, one number per class so a script can tell a damaged image from a full disk; documented in
 * README's "Exit codes" (a test keeps the two equal). 0 is success, 1 anything unexpected (a bug: an error that is not
 * an {@linkcode Oci2LxcError}), 2 a usage error and 130 an interruption, as shells and most tools use them; the classes
 * in between count up from 3 in the order of the type above. Why not sysexits.h: see docs/design-notes.md.
 *
 * @example Telling a damaged image from a full disk in a script
 * ```ts
 * import assert from "node:assert/strict";
 * import { EXIT_CODES } from "./errors.ts";
 * assert.equal(EXIT_CODES.digest, 4);
 * assert.equal(EXIT_CODES.destination, 9);
 * ```
 */
export const EXIT_CODES: Readonly<Record<ErrorCode, number>> = Object.freeze({
  usage: 2,
  image: 3,
  digest: 4,
  platform: 5,
  rootfs: 6,
  config: 7,
  plugin: 8,
  destination: 9,
  registry: 10,
  interrupted: 130,
});

/** The exit code of a failure that is not an {@linkcode Oci2LxcError}: something unexpected, most likely a bug. */
export const UNEXPECTED_EXIT_CODE = 1;

/** Options for {@linkcode Oci2LxcError}. */
export interface Oci2LxcErrorOptions {
  /** The underlying error, kept for `--debug`. */
  cause?: unknown;
  /** One line telling the user what to do next. */
  hint?: string;
}

/**
 * The one error class callers catch: `code` says what kind of failure it is.
 *
 * @example Catching a conversion failure
 * ```ts
 * import assert from "node:assert/strict";
 * import { Oci2LxcError } from "./errors.ts";
 * const err = new Oci2LxcError("image", "Cannot read index.json: not JSON");
 * assert.equal(err.exitCode, 3);
 * ```
 */
export class Oci2LxcError extends Error {
  /** What kind of failure this is. */
  readonly code: ErrorCode;
  /** What the user can do about it, if anything useful can be said. */
  readonly hint: string | undefined;

  constructor(code: ErrorCode, message: string, options: Oci2LxcErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "Oci2LxcError";
    this.code = code;
    this.hint = options.hint;
  }

  /** The process exit code the CLI uses for this error. */
  get exitCode(): number {
    return EXIT_CODES[this.code];
  }
}

/** A digest or size mismatch of one blob; `verify` collects many of these. */
export class DigestMismatchError extends Oci2LxcError {
  /** The digest the image promised. */
  readonly expected: string;
  /** What was found instead (a digest, or a size like `123 bytes`). */
  readonly actual: string;
  /** Which blob: "layer 2", "manifest", "config", "diff_id of layer 1". */
  readonly what: string;

  constructor(
    what: string,
    expected: string,
    actual: string,
    message: string,
    hint = "The archive is damaged or was modified; fetch or save the image again",
  ) {
    super("digest", message, { hint });
    this.name = "DigestMismatchError";
    this.what = what;
    this.expected = expected;
    this.actual = actual;
  }
}

/** The longest run of non-blank characters a message echoes whole; longer runs keep their start and end. */
const MAX_RUN = 400;
/** The longest message, after runs are cut. */
const MAX_MESSAGE = 4000;
const LONG_RUN = new RegExp(`[^ ]{${MAX_RUN + 1},}`, "g");

/** Control characters (C0, DEL, C1) and the Unicode line and paragraph separators, which would split a line. */
// deno-lint-ignore no-control-regex
const CONTROL = /[\x00-\x1f\x7f-\x9f\u2028\u2029]/g;

function escapeControl(c: string): string {
  const named: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };
  const code = c.charCodeAt(0);
  return named[c] ?? (code > 0xff ? `\\u${code.toString(16)}` : `\\x${code.toString(16).padStart(2, "0")}`);
}

function cut(text: string, keepStart: number, keepEnd: number): string {
  const chars = [...text];
  const gone = chars.length - keepStart - keepEnd;
  return `${chars.slice(0, keepStart).join("")}…[${gone} characters cut]…${
    chars.slice(chars.length - keepEnd).join("")
  }`;
}

/**
 * Make `text` one line of sane length for an error or warning. Messages echo what the user or the image gave (a
 * name, a `--net` spec, a member path); the CLI prints every error, hint, cause and warning through this, so no
 * value can split the `error:` line or fill the terminal with a 900 KB member name. Library callers get messages as
 * they were made (values whole) and may apply it themselves. Control characters are escaped (`\n`, `\t`, `\x1b`),
 * a run of more than 400 non-blank characters keeps its first 240 and last 80, and a message of more than 4000
 * characters keeps its start and end. Applying it twice changes nothing more.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { messageLine } from "./errors.ts";
 * assert.equal(messageLine("Cannot parse --net \"a\nb\""), "Cannot parse --net \"a\\nb\"");
 * ```
 */
export function messageLine(text: string): string {
  let line = text.replace(CONTROL, escapeControl);
  line = line.replace(LONG_RUN, (run) => [...run].length > MAX_RUN ? cut(run, 240, 80) : run);
  return [...line].length > MAX_MESSAGE ? cut(line, 3000, 400) : line;
}

/**
 * A multi-line text for a terminal (a human report) with its control characters escaped as {@linkcode messageLine}
 * does, line breaks kept: image values (a ref name, a label) must not move the cursor or retitle the window.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { terminalText } from "./errors.ts";
 * assert(terminalText("ref v1\x1b[2J\nnext") === "ref v1\\x1b[2J\nnext");
 * ```
 */
export function terminalText(text: string): string {
  return text.split("\n").map((line) => line.replace(CONTROL, escapeControl)).join("\n");
}

/**
 * Quote a value the user or the image gave for a message: JSON string quoting (so a newline shows as `\n` and
 * quotes cannot be confused with the message's own), cut to `max` characters with the number cut said.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { quoteForMessage } from "./errors.ts";
 * assert.equal(quoteForMessage("a\nb"), '"a\\nb"');
 * assert(quoteForMessage("x".repeat(1000)).length < 200);
 * ```
 */
export function quoteForMessage(value: string, max = 120): string {
  const chars = [...value];
  const shown = chars.length > max ? `${chars.slice(0, max - 20).join("")}…${chars.slice(-20).join("")}` : value;
  const quoted = JSON.stringify(shown).replace(
    /[\x7f-\x9f\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
  return chars.length > max ? `${quoted} (${chars.length} characters)` : quoted;
}

/** Describe any thrown value in one line, for error messages that keep a cause. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/**
 * Throw the "interrupted" error (exit code 130) once `signal` is aborted:
 * `Cannot <action>: interrupted <where>`, e.g. `Cannot finish the
 * conversion: interrupted in layer 2/3 (sha256:…)`.
 */
export function throwIfInterrupted(signal: AbortSignal | undefined, action: string, where: string): void {
  if (signal?.aborted) throw new Oci2LxcError("interrupted", `Cannot ${action}: interrupted ${where}`);
}

/** Whether `err` is an interruption, which stops work at once instead of being collected as a problem. */
export function isInterruption(err: unknown): boolean {
  return err instanceof Oci2LxcError && err.code === "interrupted";
}
