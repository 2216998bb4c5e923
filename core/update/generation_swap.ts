/**
 * Swapping container generations: the incoming container directory (a staged new one, or the kept previous one)
 * takes DEST's place in one `renameat2(RENAME_EXCHANGE)`, after the in-rootfs volume data was moved into it
 * (renames, never copies: owners, modes, xattrs and ACLs stay as they are). The moves cannot be part of that one
 * rename, so they are journalled: the journal is written into the incoming directory first, and a run killed
 * between the first move and the swap leaves it there; {@linkcode recoverSwap} (run by `update` and `rollback`
 * before anything else) moves the data back. A journal found in DEST means the swap happened; recovery finishes
 * what came after it (the old generation kept as the previous one). Where the filesystem cannot exchange two
 * directories, the swap is two renames and the result says so.
 *
 * @module
 */
import { dirname, join } from "node:path";
import { describeError, Oci2LxcError } from "../errors.ts";
import { AT_FDCWD, Errno, LibcError, RENAME_EXCHANGE, RENAME_NOREPLACE, renameat2 } from "../native/libc.ts";
import { SWAP_JOURNAL } from "./swap_journal.ts";

const encoder = new TextEncoder();

/** One move of volume data, paths relative to the container directories (`rootfs/data`, `volumes-aside/…`). */
export interface VolumeMove {
  from: string;
  to: string;
}

/** What a swap does after the exchange with the directory that held the old DEST. */
export type AfterSwap = "keep" | "drop" | "none";

interface Journal {
  dest: string;
  /** The incoming directory before the swap; the old DEST after it. */
  other: string;
  moves: VolumeMove[];
  after: AfterSwap;
}

/** `DIR/.NAME.oci2lxc-previous`: the kept generation of DEST `DIR/NAME` (hidden: `lxc-ls` skips dot names). */
export function previousPath(dest: string): string {
  return join(dirname(dest), `.${dest.slice(dirname(dest).length + 1)}.oci2lxc-previous`);
}

/** The directory a volume path keeps aside under, once the image no longer declares it. */
export function asideName(volume: string): string {
  return `volumes-aside/${volume.replace(/^\/+/, "").replaceAll("%", "%25").replaceAll("/", "%2F")}`;
}

/** The volume path of an aside name's last part. */
export function volumeOfAside(name: string): string {
  return "/" + name.replaceAll("%2F", "/").replaceAll("%25", "%");
}

function lstat(path: string): Deno.FileInfo | undefined {
  try {
    return Deno.lstatSync(path);
  } catch {
    return undefined;
  }
}

/**
 * Whether `rel` inside `dir` is reached through real directories only: a symlink on the way could lead out of the
 * rootfs (these are plain host paths), so such a volume is not moved.
 */
export function plainPath(dir: string, rel: string, last: "dir" | "absent-or-dir"): boolean {
  const parts = rel.split("/").filter((p) => p !== "");
  let path = dir;
  for (let i = 0; i < parts.length; i++) {
    path = join(path, parts[i]!);
    const info = lstat(path);
    const isLast = i === parts.length - 1;
    if (info === undefined) return last === "absent-or-dir";
    if (!info.isDirectory) return false;
    if (isLast) return true;
  }
  return true;
}

function rename(from: string, to: string, flags = RENAME_NOREPLACE): number {
  return renameat2(AT_FDCWD, encoder.encode(from), AT_FDCWD, encoder.encode(to), flags);
}

function moveOrThrow(from: string, to: string): void {
  const r = rename(from, to);
  if (r < 0) throw new LibcError("renameat2", -r);
}

function writeJournal(dir: string, journal: Journal): void {
  const path = join(dir, SWAP_JOURNAL);
  const file = Deno.openSync(path, { write: true, create: true, truncate: true, mode: 0o600 });
  try {
    file.writeSync(encoder.encode(JSON.stringify(journal)));
    file.syncSync();
  } finally {
    file.close();
  }
}

/** Move volume data from `fromDir` into `toDir`; a move whose target has the new image's own content replaces it. */
function moveVolumes(fromDir: string, toDir: string, moves: readonly VolumeMove[]): void {
  for (const m of moves) {
    const src = join(fromDir, m.from);
    const dst = join(toDir, m.to);
    if (lstat(src) === undefined) continue;
    if (lstat(dst) !== undefined) Deno.removeSync(dst, { recursive: true });
    Deno.mkdirSync(dirname(dst), { recursive: true });
    moveOrThrow(src, dst);
  }
}

/** Move back what {@linkcode moveVolumes} moved (a failed or killed swap). */
function moveVolumesBack(fromDir: string, toDir: string, moves: readonly VolumeMove[]): void {
  for (const m of moves) {
    const src = join(fromDir, m.from);
    const dst = join(toDir, m.to);
    if (lstat(src) === undefined && lstat(dst) !== undefined) moveOrThrow(dst, src);
  }
}

/** How the swap was made: one atomic exchange, or two renames where the filesystem cannot exchange. */
export type SwapKind = "exchange" | "renames";

/**
 * Swap the container directory `incoming` into `dest`, moving `moves` of volume data across first. After the
 * swap, `incoming` holds the old DEST; `after` says whether it becomes the kept generation (`keep`), is removed
 * (`drop`) or stays (`none`, a rollback: the previous generation's own place).
 *
 * @throws {Oci2LxcError} code "destination" when a move or the swap fails (the data is moved back first)
 */
export async function swapGeneration(
  dest: string,
  incoming: string,
  moves: readonly VolumeMove[],
  after: AfterSwap,
): Promise<SwapKind> {
  writeJournal(incoming, { dest, other: incoming, moves: [...moves], after });
  let kind: SwapKind = "exchange";
  try {
    moveVolumes(dest, incoming, moves);
    const r = rename(incoming, dest, RENAME_EXCHANGE);
    if (r === -Errno.EINVAL || r === -Errno.EOPNOTSUPP) {
      // No exchange on this filesystem: DEST is missing between the two renames (recovery puts it back).
      const aside = `${incoming}.swap`;
      moveOrThrow(dest, aside);
      const moved = rename(incoming, dest);
      if (moved < 0) {
        rename(aside, dest);
        throw new LibcError("renameat2", -moved);
      }
      moveOrThrow(aside, incoming);
      kind = "renames";
    } else if (r < 0) {
      throw new LibcError("renameat2", -r);
    }
  } catch (err) {
    try {
      moveVolumesBack(dest, incoming, moves);
      Deno.removeSync(join(incoming, SWAP_JOURNAL));
    } catch (undoErr) {
      throw new Oci2LxcError(
        "destination",
        `Cannot swap ${incoming} into ${dest}: ${describeError(err)}; moving the volume data back failed too: ` +
          describeError(undoErr),
        { cause: err, hint: `Run 'oci2lxc update ${dest}' or 'oci2lxc rollback ${dest}' again: it finishes the move` },
      );
    }
    throw new Oci2LxcError("destination", `Cannot swap ${incoming} into ${dest}: ${describeError(err)}`, {
      cause: err,
      hint: `${dest} is as it was; check the space and permissions in ${dirname(dest)}`,
    });
  }
  await finishSwap({ dest, other: incoming, moves: [...moves], after });
  return kind;
}

/** After the exchange: keep or drop the old generation, then remove the journal (now in DEST). */
async function finishSwap(journal: Journal): Promise<void> {
  const { dest, other, after } = journal;
  if (lstat(other) !== undefined) {
    if (after === "keep") {
      const previous = previousPath(dest);
      if (previous !== other) {
        if (lstat(previous) !== undefined) await Deno.remove(previous, { recursive: true });
        moveOrThrow(other, previous);
      }
    } else if (after === "drop") {
      await Deno.remove(other, { recursive: true });
    }
  }
  if (after === "drop") {
    const previous = previousPath(dest);
    if (lstat(previous) !== undefined) await Deno.remove(previous, { recursive: true });
  }
  Deno.removeSync(join(dest, SWAP_JOURNAL));
}

function readJournal(path: string): Journal | undefined {
  try {
    return JSON.parse(Deno.readTextFileSync(path)) as Journal;
  } catch {
    return undefined;
  }
}

/**
 * Finish or undo a swap a killed run left: a journal in DEST (the swap happened) is finished; a journal in a
 * directory beside DEST whose swap did not happen has its volume data moved back into DEST. Returns one line per
 * thing done, for the warnings.
 */
export async function recoverSwap(dest: string): Promise<string[]> {
  const done: string[] = [];
  if (lstat(dest) === undefined) {
    // DEST itself missing: the two-rename swap was cut between its renames.
    const base = dest.slice(dirname(dest).length + 1);
    for (const entry of Deno.readDirSync(dirname(dest))) {
      if (!entry.name.startsWith(`.${base}.oci2lxc-`) || !entry.name.endsWith(".swap")) continue;
      moveOrThrow(join(dirname(dest), entry.name), dest);
      done.push(`put ${dest} back from ${entry.name}, left by a run killed during its swap`);
      break;
    }
  }
  const inDest = readJournal(join(dest, SWAP_JOURNAL));
  if (inDest) {
    await finishSwap(inDest);
    done.push(`finished the swap of ${dest} that a killed run had made (the old generation kept as it said)`);
  }
  const base = dest.slice(dirname(dest).length + 1);
  let names: string[] = [];
  try {
    names = [...Deno.readDirSync(dirname(dest))].map((e) => e.name).filter((n) => n.startsWith(`.${base}.oci2lxc-`));
  } catch {
    return done;
  }
  for (const name of names) {
    const dir = join(dirname(dest), name);
    const journal = readJournal(join(dir, SWAP_JOURNAL));
    if (journal === undefined || journal.dest !== dest) continue;
    moveVolumesBack(dest, dir, journal.moves);
    Deno.removeSync(join(dir, SWAP_JOURNAL));
    done.push(`moved the volume data of ${dest} back from ${dir}, where a killed run had begun to move it`);
  }
  return done;
}
