/**
 * Letting the event loop run in the middle of long synchronous work.
 *
 * @module
 */

const TINY = new Uint8Array(1);
/** The longest stretch without a timer pause: the bound on Ctrl-C's delay when the CPU is contended. */
export const TIMER_PAUSE_MS = 200;
let lastTimerPause = performance.now();

/**
 * Lets the event loop run once, so that signal listeners (Ctrl-C), timers and I/O get their turn.
 *
 * The pause must make the runtime wait, however briefly: only then does it poll the operating system for signals. A
 * message to ourselves (a `MessageChannel`) is ready at once, so the runtime never waits, and a SIGINT was seen only
 * after about a hundred such pauses. A one-byte digest runs on Deno's blocking pool (~50 µs): on an idle second core
 * the runtime waits for it and sees the signal, but when the pool's thread and ours share one CPU the digest is often
 * done before we would wait. A timer always makes the runtime wait, at ~2 ms a turn; so one pause in
 * {@linkcode TIMER_PAUSE_MS} is two timer turns (≤ 2 % of the time), the others a digest. tests/event_loop_pause_test.ts
 * counts the pauses, also on one CPU; tests/long_stretch_signal_test.ts checks one pause after a long stretch.
 */
export async function letEventLoopRun(): Promise<void> {
  const now = performance.now();
  if (now - lastTimerPause >= TIMER_PAUSE_MS) {
    // Two turns: after a long stretch (one deep tar entry) one turn mostly missed a signal sent during it (3 of 16
    // runs saw it, so a conversion interrupted there finished); two saw it in 16 of 16.
    await new Promise((resolve) => setTimeout(resolve, 0));
    await new Promise((resolve) => setTimeout(resolve, 0));
    lastTimerPause = performance.now();
  } else {
    await crypto.subtle.digest("SHA-256", TINY);
  }
}
