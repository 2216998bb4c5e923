/**
 * The progress view's rows as a pure function of its state (cli/progress_view.ts) and the escape sequences that draw
 * and clear them (cli/progress.ts): per-layer rows and their states, the total row, folding many layers, a short or
 * narrow terminal, retry notes, rates over a sliding window.
 */
import assert from "node:assert/strict";
import type { ConversionProgress } from "../../core/conversion.ts";
import { clearText, redrawText } from "../../cli/progress.ts";
import { fit, MAX_LAYER_ROWS, progressLines, ProgressState } from "../../cli/progress_view.ts";

const MB = 1_000_000;
const TERMINAL = { columns: 200, rows: 40 };
const DIGESTS = ["a", "b", "c"].map((c) => `sha256:${c.repeat(64)}`);

/** The writer's event for `layer` (from 1) of layers each `size` bytes, `bytes` into it. */
function writing(layer: number, layers: number, bytes: number, size = 2 * MB): ConversionProgress {
  return {
    stage: "assemble",
    layer,
    layers,
    bytes,
    total: size,
    allBytes: (layer - 1) * size + bytes,
    allTotal: layers * size,
  };
}

/** The rows at `now`, the layer rows found by their `layer K/N` prefix. */
function rows(state: ProgressState, now: number, size = TERMINAL) {
  const lines = progressLines(state, now, size);
  const layer = (k: number) => lines.find((l) => l.startsWith(`layer ${k}/`));
  return { lines, total: lines[0]!, layer };
}

Deno.test("progressLines shows the one stage line outside assemble, as before", () => {
  const state = new ProgressState(0);
  assert.deepEqual(progressLines(state, 1200, TERMINAL), ["oci2lxc: opening the image… 1.2s"]);
  state.update({ stage: "plan" }, 2000);
  assert.deepEqual(progressLines(state, 2000, TERMINAL), ["oci2lxc: planning the container… 2.0s"]);
});

Deno.test("progressLines gives a registry image a total row and one row per layer: writing, downloading, waiting", () => {
  const state = new ProgressState(0, { remote: true });
  state.update(writing(1, 3, 0), 0);
  state.downloaded(1, 500_000, 0);
  state.update(writing(1, 3, MB), 600);
  state.downloaded(1, 1_500_000, 600);
  const r = rows(state, 600);
  assert.equal(r.lines.length, 4, r.lines.join("\n"));
  assert.match(r.total, /^oci2lxc: applying layers {2}written 1\.0 MB of 6\.0 MB {2}downloaded 2\.5 MB {2}/);
  assert.match(r.total, / {2}0\.6s$/);
  // The writer's layer streams from the registry: what it read is what was downloaded.
  assert.equal(r.layer(1), "layer 1/3  writing 1.0 MB of 2.0 MB  downloaded 1.0 MB  1.7 MB/s  ETA 0:01");
  // Downloading ahead: its size is not known yet (core did not tell it), so no "of" and no ETA.
  assert.equal(r.layer(2), "layer 2/3  downloading 1.5 MB  1.7 MB/s");
  assert.equal(r.layer(3), "layer 3/3  waiting");
  // The total downloaded never shows beyond the image's size.
  state.downloaded(2, 50 * MB, 700);
  assert.match(rows(state, 700).total, /downloaded 6\.0 MB {2}/);
});

Deno.test("progressLines shows digests, sizes, downloaded and cached layers when core tells them", () => {
  const state = new ProgressState(0, { remote: true });
  state.layer(0, { digest: DIGESTS[0], size: 2 * MB, origin: "registry" });
  state.layer(1, { digest: DIGESTS[1], size: 2 * MB, origin: "registry" });
  state.layer(2, { digest: DIGESTS[2], size: 2 * MB, origin: "cache" });
  state.update(writing(1, 3, 0), 0);
  state.downloaded(1, 2 * MB, 300);
  let r = rows(state, 300);
  assert.equal(r.layer(1), "layer 1/3 sha256:aaaaaaaaaaaa  writing 0 B of 2.0 MB  downloaded 0 B");
  assert.equal(r.layer(2), "layer 2/3 sha256:bbbbbbbbbbbb  downloaded 2.0 MB");
  assert.equal(r.layer(3), "layer 3/3 sha256:cccccccccccc  cached  2.0 MB");
  // The writer moves to layer 3: 1 and 2 are done, each with how it came; 3 is written from the cache.
  state.update(writing(3, 3, MB), 1000);
  r = rows(state, 1000);
  assert.equal(r.layer(1), "layer 1/3 sha256:aaaaaaaaaaaa  done  2.0 MB  downloaded 2.0 MB");
  assert.equal(r.layer(2), "layer 2/3 sha256:bbbbbbbbbbbb  done  2.0 MB  downloaded 2.0 MB");
  assert.match(r.layer(3)!, /^layer 3\/3 sha256:cccccccccccc {2}writing 1\.0 MB of 2\.0 MB {2}from the cache/);
  assert.match(r.total, /written 5\.0 MB of 6\.0 MB {2}downloaded 4\.0 MB {2}/);
  state.update(writing(3, 3, 2 * MB), 1100);
  assert.match(rows(state, 1100).layer(3)!, /^layer 3\/3 sha256:cccccccccccc {2}done {2}2\.0 MB {2}from the cache$/);
});

Deno.test("progressLines gives a layer downloading ahead of known size its rate and ETA over the last seconds", () => {
  const state = new ProgressState(0, { remote: true });
  state.layer(1, { size: 20 * MB });
  state.update(writing(1, 2, 0), 0);
  // 5 s at 2 MB/s, then 2 s at 500 kB/s: the rate shown is the recent one.
  let bytes = 0;
  for (let t = 0; t <= 5000; t += 100) state.downloaded(1, bytes = (2 * MB * t) / 1000, t);
  for (let t = 5100; t <= 8000; t += 100) state.downloaded(1, bytes += 50_000, t);
  assert.equal(bytes, 11_500_000);
  const row = rows(state, 8000).layer(2)!;
  assert.equal(row, "layer 2/2  downloading 11.5 MB of 20.0 MB  500.0 kB/s  ETA 0:17");
});

Deno.test("progressLines works out sizes core did not tell when the image's total makes them exact", () => {
  const state = new ProgressState(0, { remote: true });
  state.update(writing(1, 4, 0), 0);
  state.downloaded(1, 2 * MB, 0);
  state.downloaded(2, MB, 0);
  // Layers 2-4 leave 6 MB; 3 MB downloaded of them: no size is certain.
  let r = rows(state, 0);
  assert.equal(r.layer(2), "layer 2/4  downloading 2.0 MB");
  assert.equal(r.layer(3), "layer 3/4  downloading 1.0 MB");
  assert.equal(r.layer(4), "layer 4/4  waiting");
  // Every byte they leave is downloaded: each is whole.
  state.downloaded(2, 2 * MB, 100);
  state.downloaded(3, 2 * MB, 100);
  r = rows(state, 100);
  assert.deepEqual([2, 3, 4].map((k) => r.layer(k)), [2, 3, 4].map((k) => `layer ${k}/4  downloaded 2.0 MB`));
});

Deno.test("progressLines shows no rate and no ETA before half a second of data", () => {
  const state = new ProgressState(0, { remote: true });
  state.update(writing(1, 1, 0), 0);
  state.update(writing(1, 1, MB), 400);
  const early = rows(state, 400);
  assert(!early.total.includes("/s") && !early.total.includes("ETA"), early.total);
  state.update(writing(1, 1, 1_200_000), 600);
  const later = rows(state, 600);
  assert.match(later.total, /written 1\.2 MB of 2\.0 MB {2}downloaded 1\.2 MB {2}2\.0 MB\/s {2}ETA 0:01 {2}0\.6s$/);
});

Deno.test("progressLines for a local archive says nothing of downloads", () => {
  const state = new ProgressState(0);
  state.update(writing(1, 2, MB), 0);
  const r = rows(state, 0);
  assert(!r.lines.some((l) => l.includes("download")), r.lines.join("\n"));
  assert.equal(r.layer(1), "layer 1/2  writing 1.0 MB of 2.0 MB");
  // The one layer the writer has not reached has what the image's total leaves.
  assert.equal(r.layer(2), "layer 2/2  waiting  2.0 MB");
});

Deno.test("progressLines folds many layers: the active ones get rows, the rest one summary row", () => {
  const state = new ProgressState(0, { remote: true });
  state.update(writing(12, 30, MB), 0);
  state.downloaded(13, 2 * MB, 0);
  state.layer(13, { size: 2 * MB });
  state.downloaded(20, MB, 0);
  state.downloaded(25, MB, 0);
  const r = rows(state, 0);
  assert.equal(r.lines.length, 1 + MAX_LAYER_ROWS, r.lines.join("\n"));
  assert.match(r.layer(12)!, /writing/);
  assert.match(r.layer(21)!, /downloading 1\.0 MB/);
  assert.match(r.layer(26)!, /downloading 1\.0 MB/);
  assert.match(r.layer(14)!, /downloaded 2\.0 MB/);
  const shown = r.lines.filter((l) => l.startsWith("layer ")).length;
  assert.equal(shown, MAX_LAYER_ROWS - 1);
  // 30 layers, 7 rows: 23 folded, of which the 11 before the writer are done.
  assert.equal(r.lines.at(-1), "+ 23 more layers: 11 done, 12 waiting");
  // The rows are in layer order.
  const order = r.lines.slice(1, -1).map((l) => Number(/^layer (\d+)\//.exec(l)![1]));
  assert.deepEqual(order, [...order].sort((a, b) => a - b));
});

Deno.test("progressLines fits a short terminal: fewer layer rows, then the total row alone", () => {
  const state = new ProgressState(0, { remote: true });
  state.update(writing(2, 5, MB), 0);
  for (const height of [24, 7, 5, 4, 3, 2, 1]) {
    const lines = progressLines(state, 0, { columns: 120, rows: height });
    assert(lines.length <= Math.max(1, height - 1), `${height} rows: ${lines.length} lines`);
  }
  assert.equal(progressLines(state, 0, { columns: 120, rows: 24 }).length, 6, "5 layers fit: no summary");
  const three = progressLines(state, 0, { columns: 120, rows: 3 });
  assert.deepEqual(three.slice(1), ["5 layers: 1 done, 1 writing, 3 waiting"]);
  assert.equal(progressLines(state, 0, { columns: 120, rows: 2 }).length, 1);
});

Deno.test("progressLines cuts every row to the width minus one, so none wraps", () => {
  const state = new ProgressState(0, { remote: true });
  state.layer(0, { digest: DIGESTS[0] });
  state.update(writing(1, 3, MB), 0);
  for (const columns of [10, 30, 45]) {
    const lines = progressLines(state, 0, { columns, rows: 24 });
    assert.equal(lines.length, 4);
    for (const line of lines) assert(line.length <= columns - 1, `${columns}: ${JSON.stringify(line)}`);
    assert(lines[0]!.endsWith("…"), lines[0]);
  }
  assert.equal(fit("abc", 4), "abc");
  assert.equal(fit("abcd", 4), "ab…");
  assert.equal(fit("a\nb\x1b[2Kc", 80), "a b [2Kc", "no control character reaches the terminal");
});

Deno.test("a retry note shows on the total row until the next update, or on the row of the layer it names", () => {
  const state = new ProgressState(0, { remote: true });
  state.layer(1, { digest: DIGESTS[1] });
  state.update(writing(1, 2, MB), 0);
  state.noted("retrying in 2s (503 Service Unavailable)");
  assert.match(rows(state, 0).total, /^oci2lxc: retrying in 2s \(503 Service Unavailable\) {2}written 1\.0 MB/);
  state.update(writing(1, 2, 1_500_000), 100);
  assert.match(rows(state, 100).total, /^oci2lxc: applying layers {2}/);
  // Naming layer 2's blob (short, as the retry's action says it): on its row, until its next bytes.
  state.downloaded(1, 300_000, 100);
  state.noted("retrying in 1s (429 Too Many Requests)", "sha256:bbbbbbbbbbbb");
  let r = rows(state, 200);
  assert.equal(
    r.layer(2),
    "layer 2/2 sha256:bbbbbbbbbbbb  retrying in 1s (429 Too Many Requests)  downloading 300.0 kB of 2.0 MB",
  );
  assert.match(r.total, /^oci2lxc: applying layers/);
  state.update(writing(1, 2, 1_600_000), 300);
  assert.match(rows(state, 300).layer(2)!, /retrying/, "the writer's progress does not clear another layer's note");
  state.downloaded(1, 400_000, 400);
  r = rows(state, 400);
  assert(!r.layer(2)!.includes("retrying"), r.layer(2));
  // A digest no row has: on the total row, with the digest.
  state.noted("retrying in 1s (connection reset)", "sha256:dddddddddddd");
  assert.match(rows(state, 400).total, /^oci2lxc: sha256:dddddddddddd: retrying in 1s \(connection reset\)/);
});

Deno.test("redrawText goes back to the first row, rewrites each, and clears rows no longer drawn", () => {
  assert.equal(redrawText(0, ["one"]), "\r\x1b[2Kone");
  assert.equal(redrawText(1, ["one", "two", "three"]), "\r\x1b[2Kone\n\x1b[2Ktwo\n\x1b[2Kthree");
  assert.equal(redrawText(3, ["one", "two", "three"]), "\r\x1b[2A\x1b[2Kone\n\x1b[2Ktwo\n\x1b[2Kthree");
  // From four rows to one: the three below are cleared and the cursor goes back up to the one.
  assert.equal(redrawText(4, ["one"]), "\r\x1b[3A\x1b[2Kone\n\x1b[2K\n\x1b[2K\n\x1b[2K\x1b[3A");
});

Deno.test("clearText erases every row drawn and leaves the cursor where the first was", () => {
  assert.equal(clearText(0), "");
  assert.equal(clearText(1), "\r\x1b[J");
  assert.equal(clearText(5), "\r\x1b[4A\x1b[J");
});
