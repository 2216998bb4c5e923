/**
 * Files "the user had" for the tests that check a conversion leaves them alone: known bytes and an mtime no write of
 * ours can give them, so any write shows.
 *
 * @module
 */
import assert from "node:assert/strict";

const OLD = new Date("2001-02-03T04:05:06Z");

/** Write a file the user had: `text`, with an mtime in 2001. */
export function userFile(path: string, text: string): void {
  Deno.writeTextFileSync(path, text);
  Deno.utimeSync(path, OLD, OLD);
}

/** Assert the file still has `text` and its old mtime. */
export function assertUntouched(path: string, text: string): void {
  assert.equal(Deno.readTextFileSync(path), text);
  assert.equal(Deno.statSync(path).mtime?.getTime(), OLD.getTime(), `${path} was written`);
}
