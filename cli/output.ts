/**
 * Where the CLI writes: the report to stdout, everything for people to
 * stderr, errors as `error: …` plus an optional `hint: …` line.
 *
 * @module
 */
import { messageLine, Oci2LxcError, UNEXPECTED_EXIT_CODE } from "../core/errors.ts";

const encoder = new TextEncoder();

/** Write text to stdout (the report channel). */
export function printOut(text: string): void {
  writeAll(Deno.stdout, text.endsWith("\n") ? text : `${text}\n`);
}

/** Write a line to stderr (the human channel); `error:`, `warning:` and `hint:` are coloured on a terminal. */
export function printErr(text: string): void {
  const line = text.endsWith("\n") ? text : `${text}\n`;
  writeAll(Deno.stderr, useColour() ? paintPrefix(line) : line);
}

/** ANSI colours of the line prefixes people look for. */
const PREFIX_COLOURS: Readonly<Record<string, string>> = {
  "error:": "\x1b[1;31m",
  "warning:": "\x1b[33m",
  "hint:": "\x1b[36m",
  "caused by:": "\x1b[2m",
};

function paintPrefix(line: string): string {
  const colon = line.indexOf(":");
  const prefix = line.startsWith("caused by:") ? "caused by:" : line.slice(0, colon + 1);
  const colour = PREFIX_COLOURS[prefix];
  return colour ? `${colour}${prefix}\x1b[0m${line.slice(prefix.length)}` : line;
}

let colour: boolean | undefined;

/**
 * Whether stderr gets colour: only on a terminal, and never when `NO_COLOR`
 * is set (https://no-color.org; `Deno.noColor` reads it without needing the
 * env permission).
 */
export function useColour(): boolean {
  return colour ??= !Deno.noColor && Deno.stderr.isTerminal();
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

/**
 * Print an error the way every command does, and return its exit code: the one of its class (EXIT_CODES) for an
 * Oci2LxcError, 1 for anything else (unexpected, most likely a bug).
 */
export function reportError(err: unknown, debug: boolean): number {
  // Every line goes through messageLine: values echoed in messages are escaped and cut here, in one place.
  if (err instanceof Oci2LxcError) {
    printErr(`error: ${messageLine(err.message)}`);
    if (err.hint) printErr(`hint: ${messageLine(err.hint)}`);
    if (debug) printCauses(err);
    return err.exitCode;
  }
  const message = messageLine(err instanceof Error ? err.message : String(err));
  printErr(`error: ${message.startsWith("Cannot ") ? message : `Cannot finish: ${message}`}`);
  if (debug) printCauses(err);
  else printErr("hint: Run again with --debug for details, and report it if it looks like a bug");
  return UNEXPECTED_EXIT_CODE;
}

function printCauses(err: unknown): void {
  let cause = (err as { cause?: unknown }).cause;
  let depth = 0;
  while (cause !== undefined && depth++ < 8) {
    printErr(`caused by: ${messageLine(cause instanceof Error ? cause.message : String(cause))}`);
    cause = (cause as { cause?: unknown }).cause;
  }
  if (err instanceof Error && err.stack) printErr(err.stack);
}
