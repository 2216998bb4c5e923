/**
 * A staging directory beside DEST that becomes DEST in one rename, or disappears without a trace.
 *
 * @module
 */

import { describeError, isInterruption, Oci2LxcError } from "../errors.ts";
import {
  AT_FDCWD,
  check,
  chmodFd,
  close,
  Errno,
  LibcError,
  mkdirat,
  O_DIRECTORY,
  O_PATH,
  openat,
  RENAME_EXCHANGE,
  RENAME_NOREPLACE,
  renameat2,
} from "../native/libc.ts";
import { removeTree, removeTreeAsync } from "./remove_tree.ts";
import { stagingName } from "./stale_leftovers.ts";

/** A directory being filled; see {@linkcode createStaging}. */
export interface Staging {
  /** Absolute path of the staging directory (`DIR/.NAME.oci2lxc-staging-PID-START-XXXX`, see owner_tag.ts). */
  readonly path: string;
  /** The destination it will become. */
  readonly dest: string;
  /**
   * Move the staging directory to DEST in one rename. If DEST exists, fail with code "destination" unless `force`; with
   * `force`, swap the two with `RENAME_EXCHANGE` (or rename DEST aside where the filesystem cannot swap) and then
   * remove the old DEST, with turns of the event loop so signals are seen. Once the new DEST is in place, a failure to
   * remove the old one does not fail the commit: the result says what is left and where.
   *
   * @throws {Oci2LxcError} code "interrupted" when `signal` aborts the removal of the old DEST
   *   (the new DEST is in place then; the message says so)
   */
  commit(force: boolean, options?: { signal?: AbortSignal | undefined }): Promise<CommitResult>;
  /** Remove the staging directory and everything in it. Safe to call after commit (does nothing then). */
  abort(): void;
  /**
   * The caller moved the staging directory itself (an update's generation swap): from now on abort does nothing,
   * as after a commit.
   */
  release(): void;
  /**
   * {@linkcode Staging.abort} with turns of the event loop, so that a second Ctrl-C during a long clean-up is seen
   * (and ends the process at once).
   */
  abortAsync(): Promise<void>;
}

/** What {@linkcode Staging.commit} left behind: nothing, or part of the old DEST it could not remove. */
export interface CommitResult {
  /** Where the rest of the old DEST is, when it could not be removed completely. */
  leftover?: string;
  /** Why it could not be removed. */
  problem?: string;
}

/** Options for {@linkcode createStaging}. */
export interface StagingOptions {
  /** Mode of DEST after commit (the staging directory is 0700 while it fills). Default 0755. */
  mode?: number;
}

const encoder = new TextEncoder();

function split(path: string): { dir: string; base: string } {
  const trimmed = path.length > 1 ? path.replace(/\/+$/, "") : path;
  const i = trimmed.lastIndexOf("/");
  if (i < 0) return { dir: ".", base: trimmed };
  return {
    dir: i === 0 ? "/" : trimmed.slice(0, i),
    base: trimmed.slice(i + 1),
  };
}

/**
 * Create a fresh, empty staging directory (mode 0700) beside `dest`; the parent of `dest` is created if missing.
 *
 * @throws {Oci2LxcError} code "destination" when the directory cannot be made
 *
 * @example Staging then committing
 * ```ts
 * import assert from "node:assert/strict";
 * import { createStaging } from "./staging.ts";
 * const base = Deno.makeTempDirSync();
 * const staging = createStaging(`${base}/ct`);
 * Deno.writeTextFileSync(`${staging.path}/config`, "lxc.uts.name = ct\n");
 * await staging.commit(false);
 * assert(Deno.readTextFileSync(`${base}/ct/config`).startsWith("lxc"));
 * Deno.removeSync(base, { recursive: true });
 * ```
 */
export function createStaging(
  dest: string,
  options: StagingOptions = {},
): Staging {
  const { dir, base } = split(dest);
  if (base === "" || base === "." || base === "..") {
    throw new Oci2LxcError(
      "destination",
      `Cannot use ${dest} as destination: it names no directory entry`,
    );
  }
  let path = "";
  try {
    Deno.mkdirSync(dir, { recursive: true });
    const absDir = Deno.realPathSync(dir);
    for (let attempt = 0;; attempt++) {
      path = `${absDir === "/" ? "" : absDir}/${stagingName(base)}`;
      const r = mkdirat(AT_FDCWD, encoder.encode(path), 0o700);
      if (r === -Errno.EEXIST && attempt < 10) continue;
      check(r, "mkdirat", path);
      break;
    }
  } catch (err) {
    throw new Oci2LxcError(
      "destination",
      `Cannot create a staging directory beside ${dest}: ${describeError(err)}`,
      {
        cause: err,
      },
    );
  }
  return new StagingDir(
    path,
    `${Deno.realPathSync(dir)}/${base}`.replace(/^\/\//, "/"),
    dest,
    options.mode ?? 0o755,
  );
}

class StagingDir implements Staging {
  readonly path: string;
  readonly dest: string;
  readonly #absDest: string;
  readonly #mode: number;
  #done = false;

  constructor(path: string, absDest: string, dest: string, mode: number) {
    this.path = path;
    this.dest = dest;
    this.#absDest = absDest;
    this.#mode = mode;
  }

  async commit(force: boolean, options: { signal?: AbortSignal | undefined } = {}): Promise<CommitResult> {
    const old = this.#swap(force);
    if (old === undefined) return {};
    try {
      const { dir, base } = split(old);
      const fd = check(openat(AT_FDCWD, encoder.encode(dir), O_PATH | O_DIRECTORY), "openat", dir);
      try {
        await removeTreeAsync(fd, encoder.encode(base), { signal: options.signal, what: `the old ${this.dest}` });
      } finally {
        close(fd);
      }
      return {};
    } catch (err) {
      const where = `the new container is in place in ${this.dest}; what is left of the old one is ${old}`;
      if (isInterruption(err)) {
        throw new Oci2LxcError("interrupted", `${(err as Error).message}: ${where}`, {
          cause: err,
          hint: `The next conversion into ${this.dest} removes ${old} (or remove it by hand)`,
        });
      }
      return { leftover: old, problem: describeError(err) };
    }
  }

  /** Move staging into DEST; return where the old DEST now is, if there was one. */
  #swap(force: boolean): string | undefined {
    if (this.#done) {
      throw new Error(`Staging for ${this.dest} is already finished`);
    }
    const staging = encoder.encode(this.path);
    const dest = encoder.encode(this.#absDest);
    try {
      const fd = check(
        openat(AT_FDCWD, staging, O_PATH | O_DIRECTORY),
        "openat",
      );
      try {
        check(chmodFd(fd, this.#mode), "chmod");
      } finally {
        close(fd);
      }
      const r = renameat2(AT_FDCWD, staging, AT_FDCWD, dest, RENAME_NOREPLACE);
      if (r === 0) {
        this.#done = true;
        return undefined;
      }
      if (r !== -Errno.EEXIST) throw new LibcError("renameat2", -r);
      if (!force) {
        throw new Oci2LxcError(
          "destination",
          `Cannot write ${this.dest}: it already exists`,
          {
            hint: "Use --force to replace it",
          },
        );
      }
      const x = renameat2(AT_FDCWD, staging, AT_FDCWD, dest, RENAME_EXCHANGE);
      if (x === 0) {
        // The staging path now holds the old DEST; its name says whose it is if we are killed now.
        this.#done = true;
        return this.path;
      }
      if (x !== -Errno.EINVAL && x !== -Errno.EOPNOTSUPP) {
        throw new LibcError("renameat2", -x);
      }
      // The filesystem cannot swap: move DEST aside, move staging in, drop the old one.
      const aside = `${this.path}.old`;
      check(
        renameat2(
          AT_FDCWD,
          dest,
          AT_FDCWD,
          encoder.encode(aside),
          RENAME_NOREPLACE,
        ),
        "renameat2",
      );
      const moved = renameat2(
        AT_FDCWD,
        staging,
        AT_FDCWD,
        dest,
        RENAME_NOREPLACE,
      );
      if (moved < 0) {
        renameat2(
          AT_FDCWD,
          encoder.encode(aside),
          AT_FDCWD,
          dest,
          RENAME_NOREPLACE,
        );
        throw new LibcError("renameat2", -moved);
      }
      this.#done = true;
      return aside;
    } catch (err) {
      if (err instanceof Oci2LxcError) throw err;
      throw new Oci2LxcError(
        "destination",
        `Cannot move the new container into ${this.dest}: ${describeError(err)}`,
        {
          cause: err,
        },
      );
    }
  }

  release(): void {
    this.#done = true;
  }

  async abortAsync(): Promise<void> {
    if (this.#done) return;
    this.#done = true;
    const { dir, base } = split(this.path);
    try {
      const fd = check(openat(AT_FDCWD, encoder.encode(dir), O_PATH | O_DIRECTORY), "openat", dir);
      try {
        await removeTreeAsync(fd, encoder.encode(base));
      } finally {
        close(fd);
      }
    } catch (err) {
      throw new Oci2LxcError(
        "destination",
        `Cannot remove staging directory ${this.path}: ${describeError(err)}`,
        {
          cause: err,
        },
      );
    }
  }

  abort(): void {
    if (this.#done) return;
    this.#done = true;
    try {
      removeAt(this.path);
    } catch (err) {
      throw new Oci2LxcError(
        "destination",
        `Cannot remove staging directory ${this.path}: ${describeError(err)}`,
        {
          cause: err,
        },
      );
    }
  }
}

/** Remove an absolute path's tree through its parent's fd, never following symlinks. */
function removeAt(path: string): void {
  const { dir, base } = split(path);
  const fd = check(
    openat(AT_FDCWD, encoder.encode(dir), O_PATH | O_DIRECTORY),
    "openat",
    dir,
  );
  try {
    removeTree(fd, encoder.encode(base));
  } finally {
    close(fd);
  }
}
