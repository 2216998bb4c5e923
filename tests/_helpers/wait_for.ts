/**
 * The one way tests wait for something outside them (a container's report, a lease, a process state): poll, bounded.
 *
 * @module
 */

/** How often {@linkcode waitFor} polls. */
export interface WaitForOptions {
  /** Milliseconds between two checks; 50 unless given (1 for a moment that passes quickly). */
  everyMs?: number;
}

/**
 * Poll `check` until it returns a value other than `undefined` or `false`, and return that value; after `ms`
 * milliseconds (and one last check) throw an error naming `what`. A caller that must act before failing (kill a
 * child first) catches it.
 */
export async function waitFor<T>(
  what: string,
  ms: number,
  check: () => T | undefined | false | Promise<T | undefined | false>,
  options: WaitForOptions = {},
): Promise<T> {
  const deadline = performance.now() + ms;
  for (;;) {
    const late = performance.now() > deadline;
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (late) throw new Error(`Timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, options.everyMs ?? 50));
  }
}
