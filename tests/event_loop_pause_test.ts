/**
 * A pause in long synchronous work must let a signal listener run: that is
 * how Ctrl-C stops a layer in the middle. Counted in pauses, not timed.
 */
import { letEventLoopRun } from "../core/event_loop_pause.ts";
import { assert } from "./_helpers/assert.ts";

/** Work without a break for `ms` milliseconds, as a slice of a layer does. */
function busy(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) { /* spin */ }
}

Deno.test("a signal sent during synchronous work is seen at the next pause", async () => {
  // SIGUSR1 rather than SIGINT, which the test runner keeps for itself; both go the same way.
  let seen = false;
  const listener = () => seen = true;
  Deno.addSignalListener("SIGUSR1", listener);
  try {
    for (let round = 0; round < 5; round++) {
      seen = false;
      busy(5);
      Deno.kill(Deno.pid, "SIGUSR1");
      busy(5);
      let pauses = 0;
      while (!seen && pauses < 200) {
        await letEventLoopRun();
        pauses++;
        if (!seen) busy(5);
      }
      assert(seen, `round ${round}: the listener had not run after ${pauses} pauses`);
      assert(pauses <= 2, `round ${round}: the listener ran only after ${pauses} pauses`);
    }
  } finally {
    Deno.removeSignalListener("SIGUSR1", listener);
  }
});
