/**
 * Removing what killed runs left beside DEST: staging directories (with the old DEST when the kill came during the
 * commit), unpacked outer archives, and the directory lxc-create made that the LXC template moved aside; and, by the
 * same rule, archives unpacked in $TMPDIR and `pull`'s temporary files beside its target. Their names carry the owner's
 * PID and start time (see owner_tag.ts), so a leftover is removed only when its owner is gone; a live run's are never
 * touched.
 *
 * @module
 */

import { describeError } from "../errors.ts";
import { AT_FDCWD, check, close, O_DIRECTORY, O_PATH, openat, RENAME_NOREPLACE, renameat2 } from "../native/libc.ts";
import { isOwnerAlive, ownerTag } from "./owner_tag.ts";
import { removeTreeAsync } from "./remove_tree.ts";
import { SWAP_JOURNAL } from "../update/swap_journal.ts";

const encoder = new TextEncoder();

/** `.NAME.oci2lxc-staging-TAG` for a staging directory of DEST `DIR/NAME`; `.old` is the moved-aside old DEST. */
export function stagingName(base: string): string {
  return `.${base}.oci2lxc-staging-${ownerTag()}-${randomHex()}`;
}

/** `.NAME.oci2lxc-unpack-TAG.tar` for the unpacked outer archive of a conversion into `DIR/NAME`. */
export function unpackName(base: string): string {
  return `.${base}.oci2lxc-unpack-${ownerTag()}-${randomHex()}.tar`;
}

/** `.NAME.oci2lxc-lxc-create-TAG` for the directory lxc-create made for NAME, moved aside by the LXC template. */
export function lxcCreateAsideName(base: string): string {
  return `.${base}.oci2lxc-lxc-create-${ownerTag()}-${randomHex()}`;
}

function randomHex(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(4));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function hasSwapJournal(path: string): boolean {
  try {
    Deno.lstatSync(`${path}/${SWAP_JOURNAL}`);
    return true;
  } catch {
    return false;
  }
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
    `^\\.${escapeRegExp(base)}\\.oci2lxc-(staging|unpack|lxc-create)-(\\d+)-(\\d+)-[0-9a-f]+(\\.old|\\.tar)?$`,
  );
  const found: { name: string; pid: number; kind: string }[] = [];
  try {
    for (const entry of Deno.readDirSync(dir)) {
      const m = pattern.exec(entry.name);
      if (m === null) continue;
      const pid = Number(m[2]);
      if (isOwnerAlive(pid, Number(m[3]))) continue;
      // An update killed while it moved volume data into its staging directory: the data is the user's, and
      // `oci2lxc update` or `rollback` moves it back (core/update/generation_swap.ts).
      if (m[1] === "staging" && hasSwapJournal(`${dir === "/" ? "" : dir}/${entry.name}`)) continue;
      const kind = m[1] === "unpack"
        ? "an unpacked archive"
        : m[1] === "staging"
        ? "a staging directory"
        : "lxc-create's directory moved aside";
      found.push({ name: entry.name, pid, kind });
    }
  } catch {
    return []; // no parent yet: nothing can be left there
  }
  const warnings: string[] = [];
  if (found.length === 0) return warnings;
  const dirFd = check(openat(AT_FDCWD, encoder.encode(dir), O_PATH | O_DIRECTORY), "openat", dir);
  try {
    // Without RENAME_EXCHANGE (ZFS before 2.2) a commit moves the old DEST aside, then the new one in: a kill between
    // the two leaves no DEST. The old container was the one in use: put it back rather than remove both.
    const aside = found.find((f) => f.name.endsWith(".old"));
    if (
      aside !== undefined &&
      renameat2(dirFd, encoder.encode(aside.name), dirFd, encoder.encode(base), RENAME_NOREPLACE) === 0
    ) {
      found.splice(found.indexOf(aside), 1);
      const at = (name: string) => `${dir === "/" ? "" : dir}/${name}`;
      warnings.push(
        `restored ${at(base)} from ${
          at(aside.name)
        }: an earlier run (PID ${aside.pid}) was killed while it replaced it`,
      );
    }
    warnings.push(...await removeLeftovers(dirFd, dir, found, options.signal));
  } finally {
    close(dirFd);
  }
  return warnings;
}

/** `.oci2lxc-unpack-TAG.tar` for an outer archive unpacked in $TMPDIR (a dry run, `inspect`, `verify`). */
export function tempUnpackName(): string {
  return `.oci2lxc-unpack-${ownerTag()}-${randomHex()}.tar`;
}

/** `.NAME.oci2lxc-pull-TAG` for what `pull` writes under a temporary name beside `NAME` (a tar, a directory, a blob). */
export function pullTempName(base: string): string {
  return `.${base}.oci2lxc-pull-${ownerTag()}-${randomHex()}`;
}

/** What {@linkcode cleanStaleTagged} looks for: names `^PREFIX-PID-START-HEX(SUFFIX)?$` (PREFIX and SUFFIX literal). */
export interface TaggedLeftovers {
  /** The name up to the owner tag: `.oci2lxc-unpack` or `.b.tar.oci2lxc-pull` (literal), or a pattern for it. */
  prefix: string | RegExp;
  /** An optional literal ending after the random part (`.tar`). */
  suffix?: string | undefined;
  /** What such a leftover is, for the warning: "an unpacked archive". */
  kind: string;
}

/**
 * Remove the leftovers `what` names in `dir` whose owner no longer runs, and return one warning per leftover: what was
 * removed, or what could not be and why. A live run's are never touched; a missing `dir` has none.
 */
export async function cleanStaleTagged(
  dir: string,
  what: TaggedLeftovers,
  options: { signal?: AbortSignal | undefined } = {},
): Promise<string[]> {
  const pattern = new RegExp(
    `^${
      typeof what.prefix === "string" ? escapeRegExp(what.prefix) : `(?:${what.prefix.source})`
    }-(\\d+)-(\\d+)-[0-9a-f]+${what.suffix ? `(?:${escapeRegExp(what.suffix)})?` : ""}$`,
  );
  const found: { name: string; pid: number }[] = [];
  try {
    for (const entry of Deno.readDirSync(dir)) {
      const m = pattern.exec(entry.name);
      if (m !== null && !isOwnerAlive(Number(m[1]), Number(m[2]))) found.push({ name: entry.name, pid: Number(m[1]) });
    }
  } catch {
    return [];
  }
  if (found.length === 0) return [];
  const warnings: string[] = [];
  const dirFd = openat(AT_FDCWD, encoder.encode(dir), O_PATH | O_DIRECTORY);
  if (dirFd < 0) return [];
  try {
    warnings.push(...await removeLeftovers(dirFd, dir, found.map((f) => ({ ...f, kind: what.kind })), options.signal));
  } finally {
    close(dirFd);
  }
  return warnings;
}

/** Remove each leftover in `dir` (open as `dirFd`), saying what was removed or what could not be. */
async function removeLeftovers(
  dirFd: number,
  dir: string,
  found: readonly { name: string; pid: number; kind: string }[],
  signal: AbortSignal | undefined,
): Promise<string[]> {
  const warnings: string[] = [];
  for (const f of found) {
    const path = `${dir === "/" ? "" : dir}/${f.name}`;
    try {
      await removeTreeAsync(dirFd, encoder.encode(f.name), { signal, what: path });
      warnings.push(`removed ${path}, ${f.kind} left by an earlier run (PID ${f.pid}) that no longer runs`);
    } catch (err) {
      if (signal?.aborted) throw err;
      warnings.push(`cannot remove ${path}, left by an earlier run (PID ${f.pid}): ${describeError(err)}`);
    }
  }
  return warnings;
}
