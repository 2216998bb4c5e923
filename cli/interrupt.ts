/**
 * Stopping long work cleanly. Ctrl-C and SIGTERM abort it: the work stops at
 * its next chunk, removes its staging directory and fails with
 * `Oci2LxcError("interrupted")` (exit code 130). A second signal, for when
 * the clean-up itself hangs, ends the process at once with 130. runCli also
 * aborts the work when a stray error escapes (see {@linkcode abortActiveWork}).
 *
 * @module
 */

import { EXIT_CODES } from "../core/errors.ts";

const SIGNALS = ["SIGINT", "SIGTERM"] as const;
const active = new Set<AbortController>();

/** Run `work` with an AbortSignal that SIGINT, SIGTERM and {@linkcode abortActiveWork} abort. */
export async function withInterrupt<T>(work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const onSignal = () => {
    if (controller.signal.aborted) Deno.exit(EXIT_CODES.interrupted);
    controller.abort();
  };
  for (const s of SIGNALS) Deno.addSignalListener(s, onSignal);
  active.add(controller);
  try {
    return await work(controller.signal);
  } finally {
    active.delete(controller);
    for (const s of SIGNALS) Deno.removeSignalListener(s, onSignal);
  }
}

/** Abort every running {@linkcode withInterrupt} work, so that it cleans up and returns. */
export function abortActiveWork(): void {
  for (const controller of active) controller.abort();
}
