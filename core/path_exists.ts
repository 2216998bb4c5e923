/**
 * Whether a host path names something: the one answer to the question the CLI's arguments (an image path, a
 * destination) and the generated config (a file the host must have) keep asking.
 *
 * @module
 */

/**
 * Whether `path` exists. By default a symlink counts when its target exists (`stat`); with `followLinks: false` the
 * link itself counts, dangling or not (`lstat`), which is the question before writing at `path`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { pathExists } from "./path_exists.ts";
 * assert.equal(pathExists("/"), true);
 * assert.equal(pathExists("/no/such/path"), false);
 * ```
 */
export function pathExists(path: string, options: { followLinks?: boolean } = {}): boolean {
  try {
    if (options.followLinks === false) Deno.lstatSync(path);
    else Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}
