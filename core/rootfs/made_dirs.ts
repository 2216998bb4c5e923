/**
 * Directories a run creates for DEST's parent, remembered so a failed run removes exactly those (never one that was
 * there before) and leaves the filesystem as it found it.
 *
 * @module
 */

import { dirname } from "node:path";
import { pathExists } from "../path_exists.ts";

const existsNoFollow = (path: string) => pathExists(path, { followLinks: false });

/** The directories one {@linkcode makeDirs} call created, outermost first. */
export interface MadeDirs {
  readonly created: readonly string[];
  /** Remove the created directories that are empty again, innermost first; keep any that got content. */
  removeEmpty(): void;
}

/**
 * `mkdir -p path`, remembering which directories did not exist.
 *
 * @throws {Deno.errors.NotFound | Error} as `Deno.mkdirSync` does
 */
export function makeDirs(path: string): MadeDirs {
  const missing: string[] = [];
  for (let p = path; !existsNoFollow(p); p = dirname(p)) {
    missing.unshift(p);
    if (dirname(p) === p) break;
  }
  const created: string[] = [];
  const made: MadeDirs = {
    created,
    removeEmpty() {
      for (const d of [...created].reverse()) {
        try {
          Deno.removeSync(d); // not recursive: a directory that got content stays
        } catch {
          return;
        }
      }
    },
  };
  try {
    for (const d of missing) {
      try {
        Deno.mkdirSync(d);
      } catch (err) {
        if (!(err instanceof Deno.errors.AlreadyExists)) throw err;
        continue; // made by someone else meanwhile: theirs, not ours
      }
      created.push(d);
    }
  } catch (err) {
    made.removeEmpty();
    throw err;
  }
  return made;
}
