/**
 * The retry policy's arithmetic: which answers are retried, Retry-After in seconds and as a date (capped), and the
 * backoff's bounds (doubling, capped, jittered within [0.5, 1) of the step).
 */
import assert from "node:assert/strict";
import { retryableStatus, retryDelay, retryPolicy } from "../../core/registry/retry_policy.ts";

Deno.test("retryableStatus: 429 and 5xx are retried, but 501 and 505, and no 4xx", () => {
  assert.deepEqual([429, 500, 502, 503, 504].map(retryableStatus), [true, true, true, true, true]);
  assert.deepEqual([400, 401, 403, 404, 501, 505].map(retryableStatus), [false, false, false, false, false, false]);
});

Deno.test("retryDelay: Retry-After as seconds or an HTTP date, capped at maxRetryAfterMs", () => {
  const policy = retryPolicy({ maxRetryAfterMs: 60_000 });
  assert.equal(retryDelay(policy, 1, "1"), 1000);
  assert.equal(retryDelay(policy, 1, "3600"), 60_000);
  const inTenSeconds = new Date(Date.now() + 10_000).toUTCString();
  const fromDate = retryDelay(policy, 1, inTenSeconds);
  assert.ok(fromDate > 8_000 && fromDate <= 10_000, `${fromDate}`);
  assert.equal(retryDelay(policy, 1, new Date(0).toUTCString()), 0, "a date in the past: no wait");
});

Deno.test("retryDelay: backoff doubles per attempt, is capped, and is jittered within [0.5, 1) of its step", () => {
  const policy = retryPolicy({ baseDelayMs: 100, maxDelayMs: 1000 });
  for (const [attempt, step] of [[1, 100], [2, 200], [3, 400], [4, 800], [5, 1000], [9, 1000]] as const) {
    for (let i = 0; i < 20; i++) {
      const d = retryDelay(policy, attempt, "not a number or date");
      assert.ok(d >= step / 2 && d < step, `attempt ${attempt}: ${d} not in [${step / 2}, ${step})`);
    }
  }
  assert.equal(retryPolicy({ attempts: 0 }).attempts, 1, "at least one try");
});
