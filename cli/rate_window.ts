/**
 * A transfer rate over the last few seconds, not since the start: a download that sped up, slowed down or stalled
 * shows its speed of now, and the ETA made from it follows. Times are given by the caller (milliseconds, any
 * monotonic clock), so the arithmetic is testable without waiting.
 *
 * @module
 */

/** Options of {@linkcode RateWindow}. */
export interface RateWindowOptions {
  /** How far back the rate looks (default 3000 ms). */
  windowMs?: number;
  /** No rate before this much time with data (default 500 ms): the first chunks say little about the speed. */
  minSpanMs?: number;
}

/** Samples closer than this to the last one replace it: the window holds at most windowMs / SAMPLE_MS + 4 samples. */
const SAMPLE_MS = 50;

/**
 * A byte count (growing) sampled over time; {@linkcode RateWindow.rate} is bytes per second over the window.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { RateWindow } from "./rate_window.ts";
 * const w = new RateWindow();
 * w.add(0, 0);
 * w.add(1000, 2_000_000);
 * assert.equal(w.rate(1000), 2_000_000);
 * ```
 */
export class RateWindow {
  readonly #windowMs: number;
  readonly #minSpanMs: number;
  /** [time, bytes], oldest first; the first one at or before the window's start is kept as its base. */
  readonly #samples: [number, number][] = [];
  #first: number | undefined;

  constructor(options: RateWindowOptions = {}) {
    this.#windowMs = options.windowMs ?? 3000;
    this.#minSpanMs = options.minSpanMs ?? 500;
  }

  /** The count reached `bytes` at time `now` (ms). A count that went down (a restarted transfer) starts over. */
  add(now: number, bytes: number): void {
    const last = this.#samples.at(-1);
    if (last && bytes < last[1]) this.#samples.length = 0;
    this.#first ??= now;
    const previous = this.#samples.at(-2);
    if (last && previous && now - previous[0] < SAMPLE_MS) {
      last[0] = now;
      last[1] = bytes;
    } else {
      this.#samples.push([now, bytes]);
    }
    this.#trim(now);
  }

  /** Samples held: at most windowMs / 50 + 4, however often {@linkcode RateWindow.add} is called. */
  get size(): number {
    return this.#samples.length;
  }

  /** Bytes per second over the window ending at `now`, or undefined before `minSpanMs` of data. */
  rate(now: number): number | undefined {
    this.#trim(now);
    const base = this.#samples[0];
    const last = this.#samples.at(-1);
    if (!base || !last || this.#first === undefined || now - this.#first < this.#minSpanMs) return undefined;
    // Measured up to now, not to the last sample: a stalled transfer's rate falls towards 0 as the window moves on.
    const span = now - base[0];
    if (span <= 0) return undefined;
    return (last[1] - base[1]) / (span / 1000);
  }

  /** Drop samples older than the window, keeping one at or before its start as the base. */
  #trim(now: number): void {
    const start = now - this.#windowMs;
    while (this.#samples.length > 1 && this.#samples[1]![0] <= start) this.#samples.shift();
  }
}
