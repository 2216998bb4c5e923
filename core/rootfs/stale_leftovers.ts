/**
 * Removing what killed runs left beside DEST: staging directories (with the old DEST when the kill came during the
 * commit) and unpacked outer archives. Their names carry the owner's PID and start time (see owner_tag.ts), so a
 * leftover is removed only when its owner is gone; a live run's are never touched.
 *
 * @module
 */

import { describeError } from "../errors.ts";
import { AT_FDCWD, check, close, O_DIRECTORY, O_PATH, openat } from "../native/libc.ts";
import { isOwnerAlive, ownerTag } from "./owner_tag.ts";
import { removeTreeAsync } from "./remove_tree.ts";

const encoder = new TextEncoder();

/** `.NAME.oci2lxc-staging-TAG` for a staging directory of DEST `DIR/NAME`; `.old` is the moved-aside old DEST. */
export function stagingName(base: string): string {
  return `.${base}.oci2lxc-staging-${ownerTag()}-${randomHex()}`;
}

/** `.NAME.oci2lxc-unpack-TAG.tar` for the unpacked outer archive of a conversion into `DIR/NAME`. */
export function unpackName(base: string): string {
  return `.${base}.oci2lxc-unpack-${ownerTag()}-${randomHex()}.tar`;
}

function randomHex(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(4));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function escapeRegExp(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|]/g, "\\$&");
}

/**
 * Remove the leftovers of earlier, dead runs for DEST `dir/base` and return one warning per leftover: what was removed,
 * or what could not be and why. Names of live runs and of other DESTs are left alone.
 */
export async function cleanStaleLeftovers(
  dir: string,
  base: string,
  options: { signal?: AbortSignal | undefined } = {},
): Promise<string[]> {
  const pattern = new RegExp(
    `^\\.${escapeRegExp(base)}\\.oci2lxc-(staging|unpack)-(\\d+)-(\\d+)-[0-9a-f]+(\\.old|\\.tar)?$`,
  );
  const found: { name: string; pid: number; kind: string }[] = [];
  try {
    for (const entry of Deno.readDirSync(dir)) {
      const m = pattern.exec(entry.name);
      if (m === null) continue;
      const pid = Number(m[2]);
      if (isOwnerAlive(pid, Number(m[3]))) continue;
      found.push({ name: entry.name, pid, kind: m[1] === "unpack" ? "an unpacked archive" : "a staging directory" });
    }
  } catch {
    return []; // no parent yet: nothing can be left there
  }
  const warnings: string[] = [];
  if (found.length === 0) return warnings;
  const dirFd = check(openat(AT_FDCWD, encoder.encode(dir), O_PATH | O_DIRECTORY), "openat", dir);
  try {
    for (const f of found) {
      const path = `${dir === "/" ? "" : dir}/${f.name}`;
      try {
        await removeTreeAsync(dirFd, encoder.encode(f.name), { signal: options.signal, what: path });
        warnings.push(`removed ${path}, ${f.kind} left by an earlier run (PID ${f.pid}) that no longer runs`);
      } catch (err) {
        if (options.signal?.aborted) throw err;
        warnings.push(`cannot remove ${path}, left by an earlier run (PID ${f.pid}): ${describeError(err)}`);
      }
    }
  } finally {
    close(dirFd);
  }
  return warnings;
}
