/**
 * Where a file of a local image lives: a byte range of a file on disk. Blobs of an archive are ranges of the one archive
 * file; blobs of a layout directory are whole files. Either way they are read in place, never copied out.
 *
 * @module
 */
import type { LocalRange } from "./blob.ts";

/** A named byte range of a file on disk. */
export interface Member extends LocalRange {
  /** The member's name inside the archive or directory, for messages. */
  readonly name: string;
}

/** The files of an image archive or layout directory, by member name. */
export interface MemberTable {
  /** Describes the container for messages: "archive x.tar" or "directory x/". */
  readonly description: string;
  /** The member at `name` (with or without a `./` prefix), or undefined. */
  get(name: string): Member | undefined;
  /** Every member name, normalised (no `./` prefix). */
  names(): string[];
}

/** Strip `./` and leading `/` so `./index.json` and `index.json` are the same member. */
export function normaliseMemberName(name: string): string {
  let n = name;
  while (n.startsWith("./")) n = n.slice(2);
  while (n.startsWith("/")) n = n.slice(1);
  return n.replace(/\/+$/, "");
}
