/**
 * The progress line with `--max-parallel`: bytes of the layers downloaded ahead of the writer show as "downloaded",
 * beside what was written, and never beyond the total.
 */
import assert from "node:assert/strict";
import { progressText } from "../../cli/progress.ts";

const EVENT = { stage: "assemble", layer: 1, layers: 3, allBytes: 1_000_000, allTotal: 10_000_000 } as const;

Deno.test("the progress line shows bytes downloaded ahead beside the bytes written, capped at the total", () => {
  const line = progressText(EVENT, 1, undefined, 4_000_000);
  assert(line.includes("1.0 MB of 10.0 MB"), line);
  assert(line.includes("downloaded 5.0 MB"), line);
  assert(progressText(EVENT, 1, undefined, 20_000_000).includes("downloaded 10.0 MB"), "capped");
  assert.deepEqual(progressText(EVENT, 1, undefined), progressText(EVENT, 1, undefined, 0), "nothing ahead: as before");
});
