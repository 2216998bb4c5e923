/**
 * Letting the event loop run in the middle of long synchronous work.
 *
 * @module
 */

const TINY = new Uint8Array(1);

/**
 * Lets the event loop run once, so that signal listeners (Ctrl-C), timers and
 * I/O get their turn.
 *
 * The pause must make the runtime wait, however briefly: only then does it
 * poll the operating system for signals. A message to ourselves (a
 * `MessageChannel`) is ready at once, so the runtime never waits, and a
 * SIGINT was seen only after about a hundred such pauses, two seconds of
 * work. `setTimeout(0)` waits but costs ~2 ms. A one-byte digest runs on
 * Deno's blocking pool: the runtime waits ~50 µs for it, and a signal is
 * seen at the next pause (tests/event_loop_pause_test.ts counts them).
 */
export async function letEventLoopRun(): Promise<void> {
  await crypto.subtle.digest("SHA-256", TINY);
}
