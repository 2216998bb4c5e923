/**
 * The rate behind the progress view's speeds and ETAs: over the last seconds, not since the start, and nothing
 * before half a second of data.
 */
import assert from "node:assert/strict";
import { RateWindow } from "../../cli/rate_window.ts";

/** Feed `rate` bytes per second from `from` to `to` ms, a sample every 100 ms, starting at `bytes`. */
function feed(window: RateWindow, from: number, to: number, rate: number, bytes: number): number {
  for (let t = from; t <= to; t += 100) window.add(t, bytes + (rate * (t - from)) / 1000);
  return bytes + (rate * (to - from)) / 1000;
}

Deno.test("RateWindow gives no rate before 0.5 s of data, then bytes per second", () => {
  const w = new RateWindow();
  w.add(0, 0);
  w.add(400, 400_000);
  assert.equal(w.rate(400), undefined);
  w.add(500, 500_000);
  assert.equal(w.rate(500), 1_000_000);
});

Deno.test("RateWindow follows the speed of the last 3 s, not the average since the start", () => {
  const w = new RateWindow();
  // 10 s at 10 MB/s, then 4 s at 1 MB/s: the average since the start is ~7.4 MB/s, the speed now 1 MB/s.
  const bytes = feed(w, 0, 10_000, 10_000_000, 0);
  feed(w, 10_000, 14_000, 1_000_000, bytes);
  const rate = w.rate(14_000)!;
  assert(Math.abs(rate - 1_000_000) < 1, `${rate}`);
});

Deno.test("RateWindow of a stalled transfer falls to 0 as the window moves past its last bytes", () => {
  const w = new RateWindow();
  feed(w, 0, 2000, 1_000_000, 0);
  const early = w.rate(2500)!;
  assert(early > 0 && early < 1_000_000, `${early}`);
  assert.equal(w.rate(6000), 0);
});

Deno.test("RateWindow starts over when the count goes down (a transfer restarted from zero)", () => {
  const w = new RateWindow();
  feed(w, 0, 1000, 5_000_000, 0);
  w.add(1100, 0);
  w.add(1600, 500_000);
  assert.equal(w.rate(1600), 1_000_000);
});

Deno.test("RateWindow keeps a bounded number of samples however many come", () => {
  const w = new RateWindow();
  // A sample every millisecond for 10 s: 10 000 adds.
  for (let t = 0; t < 10_000; t++) w.add(t, t * 1000);
  const rate = w.rate(9_999)!;
  assert(Math.abs(rate - 1_000_000) < 1, `${rate}`);
  assert(w.size <= 3000 / 50 + 4, `${w.size} samples`);
});
