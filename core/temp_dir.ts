/**
 * The system's temporary directory ($TMPDIR, else /tmp) and temporary directories made in it, with errors that say
 * it is TMPDIR at fault: Deno's own `makeTempDir` fails on a missing TMPDIR with a bare "os error 2: tmpdir", and on
 * a TMPDIR that is not UTF-8 after it has made the directory (which then stays).
 *
 * @module
 */

import { describeError, Oci2LxcError } from "./errors.ts";

/**
 * `$TMPDIR`, or `/tmp` when it is unset or empty.
 *
 * @throws {Oci2LxcError} code "destination" when TMPDIR is not valid UTF-8
 */
export function tempBase(): string {
  try {
    return Deno.env.get("TMPDIR") || "/tmp";
  } catch (err) {
    throw new Oci2LxcError("destination", `Cannot use $TMPDIR: ${describeError(err)}`, {
      cause: err,
      hint: "Set TMPDIR to a directory whose path is UTF-8 (e.g. /var/tmp), or unset it",
    });
  }
}

/**
 * Make a new directory `PREFIX…` in {@linkcode tempBase} (mode 0700, as `Deno.makeTempDirSync`).
 *
 * @throws {Oci2LxcError} code "destination" naming $TMPDIR when the directory cannot be made
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeTempDirIn } from "./temp_dir.ts";
 * const dir = makeTempDirIn("oci2lxc-example-");
 * assert(Deno.statSync(dir).isDirectory);
 * Deno.removeSync(dir);
 * ```
 */
export function makeTempDirIn(prefix: string): string {
  const base = tempBase();
  try {
    return Deno.makeTempDirSync({ dir: base, prefix });
  } catch (err) {
    const where = base === "/tmp" ? "/tmp" : `$TMPDIR (${base})`;
    throw new Oci2LxcError("destination", `Cannot make a temporary directory in ${where}: ${describeError(err)}`, {
      cause: err,
      hint: err instanceof Deno.errors.NotFound
        ? `Set TMPDIR to a directory that exists (now ${base})`
        : `Check that ${base} is writable, or set TMPDIR to another directory`,
    });
  }
}
