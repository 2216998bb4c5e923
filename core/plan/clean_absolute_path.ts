/**
 * Lexical cleaning of the absolute container paths an image names (WorkingDir, Volumes, `--volume` targets). Lexical
 * only: the rootfs is not consulted, so a symlink in the path is resolved later, inside the root, by whoever opens it.
 *
 * @module
 */

/**
 * Lexically clean an absolute path (`/a//b/../c/.` → `/a/c`); `undefined` if relative.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { cleanAbsolutePath } from "./clean_absolute_path.ts";
 * assert.equal(cleanAbsolutePath("/a//b/../c/."), "/a/c");
 * assert.equal(cleanAbsolutePath("a/b"), undefined);
 * ```
 */
export function cleanAbsolutePath(path: string): string | undefined {
  if (!path.startsWith("/")) return undefined;
  const out: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") out.pop();
    else out.push(part);
  }
  return "/" + out.join("/");
}
