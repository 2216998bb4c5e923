/**
 * Everything a real conversion does beside DEST before its work starts, and undoes at the end: create DEST's parent
 * (remembering what it created), take DEST's lock, and remove what killed runs for DEST left behind.
 *
 * @module
 */

import { basename, dirname } from "node:path";
import { describeError, Oci2LxcError } from "../errors.ts";
import { acquireDestLock, type DestLock } from "./dest_lock.ts";
import { type MadeDirs, makeDirs } from "./made_dirs.ts";
import { cleanStaleLeftovers, unpackName } from "./stale_leftovers.ts";

/** A claimed DEST; see {@linkcode claimDestination}. */
export interface DestClaim {
  /** The name to unpack a compressed outer archive to, beside DEST (in {@linkcode DestClaim.dir}). */
  readonly unpackName: string;
  /** DEST's parent directory, where the staging directory and the unpacked archive go. */
  readonly dir: string;
  /** Let go of the lock (its file is removed); after a failure also remove the directories this run created. */
  release(failed: boolean): void;
}

/** Options for {@linkcode claimDestination}. */
export interface ClaimOptions {
  /** Wait for another conversion into DEST to end instead of failing at once (`--wait`). */
  wait?: boolean | undefined;
  signal?: AbortSignal | undefined;
  /** Warnings: stale leftovers removed (or not), and "waiting for PID N". */
  onWarning?: ((message: string) => void) | undefined;
  /** Told when we start waiting for another run (not a warning about the result). */
  onWait?: ((message: string) => void) | undefined;
}

/**
 * Prepare DEST `absDest` for a conversion: its parent exists, this run holds its lock, and stale leftovers of dead runs
 * for it are gone (each one a warning).
 *
 * @throws {Oci2LxcError} code "destination" when the parent cannot be made or another run holds the lock
 */
export async function claimDestination(absDest: string, options: ClaimOptions = {}): Promise<DestClaim> {
  const parent = dirname(absDest);
  const base = basename(absDest);
  let made: MadeDirs;
  try {
    made = makeDirs(parent);
  } catch (err) {
    // The staging directory is what needs the parent; the reason names the directory that could not be made.
    throw new Oci2LxcError(
      "destination",
      `Cannot create a staging directory beside ${absDest}: ${describeError(err)}`,
      {
        cause: err,
      },
    );
  }
  const dir = Deno.realPathSync(parent);
  let lock: DestLock;
  try {
    lock = await acquireDestLock(dir, base, {
      wait: options.wait,
      signal: options.signal,
      onWait: (holder) => options.onWait?.(`waiting for another oci2lxc (${holder}) converting into ${absDest}`),
    });
  } catch (err) {
    made.removeEmpty();
    throw err;
  }
  try {
    for (const w of await cleanStaleLeftovers(dir, base, { signal: options.signal })) options.onWarning?.(w);
  } catch (err) {
    lock.release();
    made.removeEmpty();
    throw err;
  }
  let released = false;
  return {
    unpackName: unpackName(base),
    dir,
    release(failed) {
      if (released) return;
      released = true;
      lock.release();
      if (failed) made.removeEmpty();
    },
  };
}
