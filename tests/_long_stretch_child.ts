/**
 * Child process for long_stretch_signal_test.ts: works synchronously (as one
 * deep tar entry does) until the parent has sent SIGUSR2 and made the marker
 * file, then a pause's worth more, then makes ONE pause and prints whether the
 * listener ran.
 *
 * Usage: `_long_stretch_child.ts MARKER`
 *
 * @module
 */

import { letEventLoopRun, TIMER_PAUSE_MS } from "../core/event_loop_pause.ts";

const marker = Deno.args[0]!;
let seen = false;
Deno.addSignalListener("SIGUSR2", () => seen = true);
await letEventLoopRun();
console.log("ready");
/** Spin, as synchronous work does. */
function busy(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) { /* spin */ }
}
for (let i = 0; i < 60_000; i++) {
  try {
    Deno.statSync(marker);
    break;
  } catch {
    busy(1);
  }
}
busy(TIMER_PAUSE_MS);
await letEventLoopRun();
console.log(seen ? "seen" : "missed");
Deno.exit(0);
