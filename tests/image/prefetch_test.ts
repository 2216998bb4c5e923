/**
 * prefetchLayers(): the next layer is opened once the current one is within `limit` bytes of its end (at once for a
 * small one), never before the first layer is opened, each prefetched stream handed out once, and cancelled on cancel().
 */
import assert from "node:assert/strict";
import type { Blob } from "../../core/image/blob.ts";
import type { ImageLayer } from "../../core/image/image.ts";
import { prefetchLayers } from "../../core/image/prefetch.ts";

/** A layer whose blob is `size` bytes of `fill`, served in chunks of 100; `opened` counts its transfers. */
function layer(index: number, size: number, log: string[]): ImageLayer {
  const blob: Blob = {
    name: `layer ${index + 1}`,
    digest: undefined,
    size,
    mediaType: "",
    local: undefined,
    open: () => {
      log.push(`open ${index}`);
      let at = 0;
      return Promise.resolve(
        new ReadableStream<Uint8Array>({
          pull(controller) {
            if (at >= size) return controller.close();
            const n = Math.min(100, size - at);
            at += n;
            controller.enqueue(new Uint8Array(n).fill(index));
          },
          cancel() {
            log.push(`cancel ${index}`);
          },
        }, { highWaterMark: 0 }),
      );
    },
  };
  return { index, blob, compression: "none", diffId: "" };
}

async function readBytes(reader: ReadableStreamDefaultReader<Uint8Array>, count: number): Promise<number> {
  let got = 0;
  while (got < count) {
    const { done, value } = await reader.read();
    if (done) break;
    got += value.length;
  }
  return got;
}

Deno.test("prefetchLayers() opens the next layer when the current one nears its end, not before", async () => {
  const log: string[] = [];
  const ahead = prefetchLayers([layer(0, 1000, log), layer(1, 150, log), layer(2, 50, log)], 300);
  assert.deepEqual(log, [], "nothing is fetched before a layer is opened");
  const first = (await ahead.layers[0]!.blob.open()).getReader();
  assert.deepEqual(log, ["open 0"]);
  await readBytes(first, 600);
  assert.deepEqual(log, ["open 0"], "700 bytes left: more than the limit");
  await readBytes(first, 100);
  assert.deepEqual(log, ["open 0", "open 1"], "300 bytes left: the next layer starts");
  assert.equal(await readBytes(first, 1000), 300);

  // Layer 2 is small: opening it starts layer 3 at once; its prefetched stream is handed out once.
  const second = await ahead.layers[1]!.blob.open();
  assert.deepEqual(log, ["open 0", "open 1", "open 2"]);
  assert.equal(await readBytes(second.getReader(), 1000), 150);
  await ahead.layers[2]!.blob.open();
  await ahead.layers[2]!.blob.open();
  assert.deepEqual(log, ["open 0", "open 1", "open 2", "open 2"], "a second open is a new transfer");
});

Deno.test("prefetchLayers() cancel() stops a transfer started ahead", async () => {
  const log: string[] = [];
  const ahead = prefetchLayers([layer(0, 10, log), layer(1, 10_000, log)], 300);
  await ahead.layers[0]!.blob.open();
  assert.deepEqual(log, ["open 0", "open 1"]);
  ahead.cancel();
  // The cancel reaches the transfer once its open() has settled.
  await new Promise((resolve) => setTimeout(resolve, 0));
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.deepEqual(log, ["open 0", "open 1", "cancel 1"]);
});
