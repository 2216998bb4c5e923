/**
 * Parallel downloads into the blob cache (core/cache/parallel_layers.ts) through the real assembly, on a stream-only
 * source: the layers after the first download ahead into the cache and then reach the reader as local files (the layer
 * worker reads them itself; on this thread the fast path too), not as streams from the cache file; and under
 * `--pull=always` a copy that was in the cache before does not count as downloaded.
 */
import assert from "node:assert/strict";
import { assembleRootfs } from "../../core/assemble.ts";
import { BlobCache } from "../../core/cache/blob_cache.ts";
import { cachingSource } from "../../core/cache/caching_source.ts";
import { parallelLayers } from "../../core/cache/parallel_layers.ts";
import type { PullPolicy } from "../../core/cache/cache_dir.ts";
import type { ImageLayer } from "../../core/image/image.ts";
import { parsePlatform } from "../../core/image/platform.ts";
import { selectImage } from "../../core/image/select_image.ts";
import { fsManifest } from "../../core/rootfs/fs_manifest.ts";
import { withTempDir, writeOciDir } from "../_helpers/oci_builder.ts";
import { file } from "../rootfs/_layers.ts";
import { layerTar } from "../rootfs/_oci_image.ts";
import { MemorySource } from "../image/_memory_source.ts";
import { systemTest } from "../_helpers/tier.ts";

const AMD64 = parsePlatform("linux/amd64");

/** Four layers of a few hundred files each, in the three compressions. */
async function fourLayers(dir: string): Promise<void> {
  const files = (prefix: string, n: number) =>
    Array.from({ length: n }, (_, i) => file(`${prefix}/f${i}`, `${prefix} ${i} `.repeat(1 + (i * 37) % 3000)));
  await writeOciDir(dir, [
    { tar: layerTar(files("a", 300)), compression: "gzip" },
    { tar: layerTar(files("b", 300)), compression: "zstd" },
    { tar: layerTar(files("c", 300)), compression: "none" },
    { tar: layerTar(files("d", 300)), compression: "gzip" },
  ]);
}

/** The layers through the cache and parallelLayers, each blob counting how it was read. */
async function counted(memory: MemorySource, cache: BlobCache, pull: PullPolicy) {
  const source = cachingSource(memory, cache, { pull });
  const image = await selectImage(source, memory.top, {
    reference: "memory",
    transport: "memory",
    refName: undefined,
    platform: AMD64,
  });
  const parallel = parallelLayers(image.layers, 4);
  const streamed: number[] = [];
  const asFile: number[] = [];
  const layers = parallel.layers.map((layer, position): ImageLayer => ({
    ...layer,
    blob: {
      ...layer.blob,
      open: (options) => {
        streamed.push(position);
        return layer.blob.open(options);
      },
      whenLocal: async () => {
        const range = await layer.blob.whenLocal?.();
        if (range) asFile.push(position);
        return range;
      },
    },
  }));
  return { layers, streamed, asFile, cancel: () => parallel.cancel() };
}

for (const worker of ["always", "never"] as const) {
  systemTest(`layers downloaded ahead reach the reader as cached files, not streams (worker ${worker})`, async () => {
    await withTempDir(async (dir) => {
      await fourLayers(`${dir}/img`);
      const memory = await MemorySource.load(`${dir}/img`);
      const cache = new BlobCache(`${dir}/cache`);
      const { layers, streamed, asFile, cancel } = await counted(memory, cache, "missing");
      await Deno.mkdir(`${dir}/rootfs`);
      const result = await assembleRootfs(layers, `${dir}/rootfs`, { worker });
      cancel();
      assert.equal(result.readInWorker, worker === "always");
      // The first layer streams (teed into the cache); the other three downloaded ahead and are read from disk.
      assert.deepEqual(streamed, [0]);
      assert.deepEqual(asFile, [1, 2, 3]);
      for (const layer of layers) assert.ok(cache.has(layer.blob.digest!), `${layer.blob.name} is cached`);
      // The same rootfs as from the layout itself.
      const local = await selectImage(memory, memory.top, {
        reference: "memory",
        transport: "memory",
        refName: undefined,
        platform: AMD64,
      });
      await Deno.mkdir(`${dir}/expected`);
      await assembleRootfs(local.layers, `${dir}/expected`, { worker: "never" });
      assert.deepEqual(fsManifest(`${dir}/rootfs`), fsManifest(`${dir}/expected`));
    });
  });
}

systemTest("under --pull=always a layer that was cached before is downloaded again, not taken from disk", async () => {
  await withTempDir(async (dir) => {
    await fourLayers(`${dir}/img`);
    const memory = await MemorySource.load(`${dir}/img`);
    const cache = new BlobCache(`${dir}/cache`);
    const fill = await counted(memory, cache, "missing");
    await Deno.mkdir(`${dir}/one`);
    await assembleRootfs(fill.layers, `${dir}/one`, { worker: "always" });
    fill.cancel();
    const opened = memory.opened;
    const again = await counted(memory, cache, "always");
    await Deno.mkdir(`${dir}/two`);
    await assembleRootfs(again.layers, `${dir}/two`, { worker: "always" });
    again.cancel();
    // Index, manifest and config are read again too; every layer is downloaded again, once.
    assert.equal(memory.opened - opened, again.layers.length + 1);
    assert.deepEqual(again.streamed, [0]);
    assert.deepEqual(again.asFile, [1, 2, 3]);
    assert.deepEqual(fsManifest(`${dir}/two`), fsManifest(`${dir}/one`));
  });
});
