/**
 * A layer downloaded ahead into the blob cache reaches the layer worker as a file range (Blob.whenLocal), and the worker
 * reads it in its turn, after the layers before it: another process can remove or change the cached file in between
 * (`cache prune --all`, a disk tool). The error must name the layer and say what to do; the next run must drop what is
 * damaged and download it again. Real cache, real worker, real prune; the damage is done right after the lookup that
 * vouched for the file, where the race puts it.
 */
import assert from "node:assert/strict";
import { assembleRootfs } from "../../core/assemble.ts";
import { BlobCache } from "../../core/cache/blob_cache.ts";
import { cachingSource } from "../../core/cache/caching_source.ts";
import { pruneCache } from "../../core/cache/cache_prune.ts";
import { parallelLayers } from "../../core/cache/parallel_layers.ts";
import { DigestMismatchError, Oci2LxcError } from "../../core/errors.ts";
import type { ImageLayer } from "../../core/image/image.ts";
import { parsePlatform } from "../../core/image/platform.ts";
import { selectImage } from "../../core/image/select_image.ts";
import { fsManifest } from "../../core/rootfs/fs_manifest.ts";
import { withTempDir, writeOciDir } from "../_helpers/oci_builder.ts";
import { file } from "../rootfs/_layers.ts";
import { layerTar } from "../rootfs/_oci_image.ts";
import { MemorySource } from "../image/_memory_source.ts";
import { systemTest } from "../_helpers/tier.ts";

const SELECT = { reference: "memory", transport: "memory", refName: undefined, platform: parsePlatform("linux/amd64") };

/** The layers of `memory` through the cache and parallelLayers; `damage` runs on layer 3's file once it is handed out. */
async function layersThroughCache(memory: MemorySource, cache: BlobCache, damage?: (file: string) => void) {
  const image = await selectImage(cachingSource(memory, cache), memory.top, SELECT);
  const parallel = parallelLayers(image.layers, 4);
  const layers = parallel.layers.map((layer, position): ImageLayer =>
    position !== 2 || !damage ? layer : {
      ...layer,
      blob: {
        ...layer.blob,
        whenLocal: async () => {
          const range = await layer.blob.whenLocal?.();
          if (range) damage(range.file);
          return range;
        },
      },
    }
  );
  return { layers, cancel: () => parallel.cancel() };
}

const DAMAGES: Record<string, (cache: BlobCache) => (file: string) => void> = {
  "removed by a prune": (cache) => () => pruneCache(cache, { all: true }),
  "truncated": () => (file) => Deno.truncateSync(file, 100),
  "changed in place": () => (file) => {
    // One byte at offset 200 flipped, the size kept.
    using f = Deno.openSync(file, { read: true, write: true });
    const byte = new Uint8Array(1);
    f.seekSync(200, Deno.SeekMode.Start);
    f.readSync(byte);
    byte[0] = byte[0]! ^ 0xff;
    f.seekSync(200, Deno.SeekMode.Start);
    f.writeSync(byte);
  },
};

for (const [how, damageOf] of Object.entries(DAMAGES)) {
  systemTest(
    `a layer's cached file ${how} before the worker reads it: a clear error, and the next run heals`,
    async () => {
      await withTempDir(async (dir) => {
        const many = (prefix: string) =>
          Array.from({ length: 400 }, (_, i) => file(`${prefix}/f${i}`, `${prefix}${i}`));
        await writeOciDir(`${dir}/img`, [
          { tar: layerTar(many("a")), compression: "gzip" },
          { tar: layerTar(many("b")), compression: "gzip" },
          { tar: layerTar(many("c")), compression: "zstd" },
          { tar: layerTar(many("d")), compression: "gzip" },
        ]);
        const memory = await MemorySource.load(`${dir}/img`);
        const cache = new BlobCache(`${dir}/cache`);

        const first = await layersThroughCache(memory, cache, damageOf(cache));
        await Deno.mkdir(`${dir}/one`);
        const err = await assembleRootfs(first.layers, `${dir}/one`, { worker: "always" }).then(
          () => undefined,
          (e: unknown) => e,
        );
        first.cancel();
        assert(err instanceof Oci2LxcError, `an Oci2LxcError, not ${err}`);
        // A prune removes layer 2's file too, handed out just before: that one is read first.
        const layer = how === "removed by a prune" ? 2 : 3;
        assert.match(err.message, new RegExp(`^Cannot \\w+ layer ${layer}/4 \\(sha256:[0-9a-f]{12}\\)`), err.message);
        assert.match(err.hint ?? "", /blob cache's copy .*removed or changed.*run the command again.*--pull=always/);
        if (how === "changed in place") assert(err instanceof DigestMismatchError, `${err}`);

        // The next run: the damaged copy is dropped (or was removed) and downloaded again; the rootfs is right.
        const opened = memory.opened;
        const second = await layersThroughCache(memory, cache);
        await Deno.mkdir(`${dir}/two`);
        await assembleRootfs(second.layers, `${dir}/two`, { worker: "always" });
        second.cancel();
        assert(memory.opened > opened, "the damaged layer was downloaded again");
        // A fresh copy: the feed transfers a chunk that is a whole buffer to the worker, and MemorySource's small blobs are.
        const original = await MemorySource.load(`${dir}/img`);
        const local = await selectImage(original, original.top, SELECT);
        await Deno.mkdir(`${dir}/expected`);
        await assembleRootfs(local.layers, `${dir}/expected`, { worker: "never" });
        assert.deepEqual(fsManifest(`${dir}/two`), fsManifest(`${dir}/expected`));
      });
    },
  );
}
