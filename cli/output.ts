/**
 * Where the CLI writes: the report to stdout, everything for people to
 * stderr, errors as `error: …` plus an optional `hint: …` line.
 *
 * @module
 */
import { Oci2LxcError } from "../core/errors.ts";

const encoder = new TextEncoder();

/** Write text to stdout (the report channel). */
export function printOut(text: string): void {
  writeAll(Deno.stdout, text.endsWith("\n") ? text : `${text}\n`);
}

/** Write a line to stderr (the human channel). */
export function printErr(text: string): void {
  writeAll(Deno.stderr, text.endsWith("\n") ? text : `${text}\n`);
}

function writeAll(w: { writeSync(p: Uint8Array): number }, text: string): void {
  const bytes = encoder.encode(text);
  let at = 0;
  try {
    while (at < bytes.length) at += w.writeSync(bytes.subarray(at));
  } catch (err) {
    // The reader went away (`| head`): what is left has nowhere to go.
    if (!(err instanceof Deno.errors.BrokenPipe)) throw err;
  }
}

/** Print an error the way every command does, and return its exit code. */
export function reportError(err: unknown, debug: boolean): number {
  if (err instanceof Oci2LxcError) {
    printErr(`error: ${err.message}`);
    if (err.hint) printErr(`hint: ${err.hint}`);
    if (debug) printCauses(err);
    return err.exitCode;
  }
  const message = err instanceof Error ? err.message : String(err);
  printErr(`error: ${message.startsWith("Cannot ") ? message : `Cannot finish: ${message}`}`);
  if (debug) printCauses(err);
  else printErr("hint: run again with --debug for details, and report it if it looks like a bug");
  return 1;
}

function printCauses(err: unknown): void {
  let cause = (err as { cause?: unknown }).cause;
  let depth = 0;
  while (cause !== undefined && depth++ < 8) {
    printErr(`caused by: ${cause instanceof Error ? cause.message : String(cause)}`);
    cause = (cause as { cause?: unknown }).cause;
  }
  if (err instanceof Error && err.stack) printErr(err.stack);
}
