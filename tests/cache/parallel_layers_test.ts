/**
 * Parallel downloads into the blob cache (core/cache/parallel_layers.ts) through the real assembly, on a stream-only
 * source: with the layer worker every layer downloads into its cache file and the worker follows the file as it grows
 * (Blob.download); on this thread the first layer streams and the others, downloaded ahead, are read as local files;
 * and under `--pull=always` a copy that was in the cache before does not count as downloaded.
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
  const followed: number[] = [];
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
      download: async () => {
        const growing = await layer.blob.download?.();
        if (growing) followed.push(position);
        return growing;
      },
    },
  }));
  return { layers, streamed, asFile, followed, cancel: () => parallel.cancel() };
}

for (const worker of ["always", "never"] as const) {
  systemTest(
    `layers downloading into the cache reach the reader as files, not streams (worker ${worker})`,
    async () => {
      await withTempDir(async (dir) => {
        await fourLayers(`${dir}/img`);
        const memory = await MemorySource.load(`${dir}/img`);
        const cache = new BlobCache(`${dir}/cache`);
        const { layers, streamed, asFile, followed, cancel } = await counted(memory, cache, "missing");
        await Deno.mkdir(`${dir}/rootfs`);
        const result = await assembleRootfs(layers, `${dir}/rootfs`, { worker });
        cancel();
        assert.equal(result.readInWorker, worker === "always");
        // The first layer streams (teed into the cache); the other three downloaded ahead and are read from disk.
        if (worker === "always") {
          // The worker follows every layer's download file as it grows: no layer's bytes pass through a stream.
          assert.deepEqual(followed, [0, 1, 2, 3]);
          assert.deepEqual(streamed, []);
        } else {
          // On this thread: the first layer streams (teed into the cache); the others downloaded ahead, read from disk.
          assert.deepEqual(streamed, [0]);
          assert.deepEqual(asFile, [1, 2, 3]);
        }
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
    },
  );
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
    assert.deepEqual(again.followed, [0, 1, 2, 3]);
    assert.deepEqual(again.streamed, []);
    assert.deepEqual(fsManifest(`${dir}/two`), fsManifest(`${dir}/one`));
  });
});

systemTest(
  "a download that fails while the worker follows its file is that layer's error, and leaves no file",
  async () => {
    await withTempDir(async (dir) => {
      await fourLayers(`${dir}/img`);
      const memory = await MemorySource.load(`${dir}/img`);
      const cache = new BlobCache(`${dir}/cache`);
      const { layers, followed, cancel } = await counted(memory, cache, "missing");
      // Layer 3's transfer breaks off after its first chunk, for good.
      const cut = new Error("connection reset by the test");
      memory.faults.set(layers[2]!.blob.digest!, { failAfter: 1, error: cut });
      await Deno.mkdir(`${dir}/rootfs`);
      const err = await assembleRootfs(layers, `${dir}/rootfs`, { worker: "always" }).then(() => undefined, (e) => e);
      cancel();
      // The download's own error: passed on as it is, or (when its partial file was gone before the worker was told of
      // it) the same error from the second try, which streams.
      assert.ok(err instanceof Error && err.message === cut.message, `the download's own error: ${err}`);
      assert.ok(followed.includes(2), "the worker followed layer 3's file");
      // Nothing half-made in the cache: no partial file, and layer 3 not cached.
      assert.deepEqual([...Deno.readDirSync(`${dir}/cache/tmp`)].map((e) => e.name), []);
      assert.ok(!cache.has(layers[2]!.blob.digest!));
    });
  },
);
