/**
 * A layer downloaded ahead into the blob cache reaches the layer worker as a file range (Blob.whenLocal), and the worker
 * reads it in its turn, after the layers before it: another process can remove or change the cached file in between.
 * Removed (`cache prune --all`): the conversion goes on (a file handed out is held open, one not yet handed out is
 * downloaded again). Changed (truncated, a byte flipped): the error names the layer and says what to do, and the next
 * run drops what is damaged and downloads it again. Real cache, real worker, real prune; the damage is done right after
 * the lookup that vouched for the file, where the race puts it.
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

/**
 * The layers of `memory` through the cache and parallelLayers; `damage` runs on layer 3's file once it is handed out:
 * a file downloaded ahead right after its lookup (whenLocal), a file the worker follows as it downloads right when its
 * download ends (download), so before the worker, busy with the layers before it, reads it.
 */
async function layersThroughCache(memory: MemorySource, cache: BlobCache, damageOnce?: (file: string) => void) {
  const image = await selectImage(cachingSource(memory, cache), memory.top, SELECT);
  // Once: a file followed as it downloads can also be looked up after (when it was renamed in before it was held).
  let damaged = false;
  const damage = damageOnce && ((file: string) => {
    if (!damaged) damageOnce(file);
    damaged = true;
  });
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
        download: async () => {
          const growing = await layer.blob.download?.();
          // A clock tick after the download's end: a change within the tick of the last write is the blind spot of
          // the stamp the downloading process writes (blob_cache.ts), not what this test is about.
          const later = () => new Promise((resolve) => setTimeout(resolve, 30));
          return growing &&
            { ...growing, done: growing.done.then(later).then(() => damage(cache.blobPath(layer.blob.digest!))) };
        },
      },
    }
  );
  return { layers, cancel: () => parallel.cancel() };
}

/** An image of four layers of a few hundred small files each. */
async function fourLayers(dir: string): Promise<void> {
  const many = (prefix: string) => Array.from({ length: 400 }, (_, i) => file(`${prefix}/f${i}`, `${prefix}${i}`));
  await writeOciDir(dir, [
    { tar: layerTar(many("a")), compression: "gzip" },
    { tar: layerTar(many("b")), compression: "gzip" },
    { tar: layerTar(many("c")), compression: "zstd" },
    { tar: layerTar(many("d")), compression: "gzip" },
  ]);
}

/** The rootfs of the image read straight from its layout. */
async function expected(dir: string): Promise<ReturnType<typeof fsManifest>> {
  // A fresh copy: the feed transfers a chunk that is a whole buffer to the worker, and MemorySource's small blobs are.
  const original = await MemorySource.load(`${dir}/img`);
  const local = await selectImage(original, original.top, SELECT);
  const into = Deno.makeTempDirSync({ dir, prefix: "expected-" });
  await assembleRootfs(local.layers, into, { worker: "never" });
  return fsManifest(into);
}

systemTest("cached files pruned before the worker reads them: the conversion goes on, right", async () => {
  await withTempDir(async (dir) => {
    await fourLayers(`${dir}/img`);
    const memory = await MemorySource.load(`${dir}/img`);
    const cache = new BlobCache(`${dir}/cache`);
    // Layer 3's download just ended (or its file just passed its lookup); every blob in the cache is removed.
    const run = await layersThroughCache(memory, cache, () => pruneCache(cache, { all: true }));
    const opened = memory.opened;
    await Deno.mkdir(`${dir}/rootfs`);
    const result = await assembleRootfs(run.layers, `${dir}/rootfs`, { worker: "always" });
    run.cancel();
    assert(result.readInWorker);
    // With the worker following each download's file through a held descriptor, none needs to be downloaded again.
    const downloads = memory.opened - opened;
    assert(downloads >= 4 && downloads <= 6, `${downloads} downloads`);
    assert.deepEqual(fsManifest(`${dir}/rootfs`), await expected(dir));
    // The descriptors held for the worker are closed again.
    const open = [...Deno.readDirSync("/proc/self/fd")].flatMap((e) => {
      try {
        return [Deno.readLinkSync(`/proc/self/fd/${e.name}`)];
      } catch {
        return [];
      }
    });
    assert.deepEqual(open.filter((target) => target.startsWith(`${dir}/cache/`)), []);
  });
});

systemTest("a warm convert's cached files pruned while it runs: the conversion goes on, right", async () => {
  await withTempDir(async (dir) => {
    // The first layer's 20 MiB of tar (zeros, a small blob) keep the worker at it, bounded by its 8 MiB ring, while
    // the other layers wait in the cache: they are removed before the worker opens them.
    const many = (prefix: string) => Array.from({ length: 200 }, (_, i) => file(`${prefix}/f${i}`, `${prefix}${i}`));
    await writeOciDir(`${dir}/img`, [
      { tar: layerTar([file("big/zeros", new Uint8Array(20 << 20))]), compression: "gzip" },
      { tar: layerTar(many("b")), compression: "gzip" },
      { tar: layerTar(many("c")), compression: "zstd" },
      { tar: layerTar(many("d")), compression: "gzip" },
    ]);
    const memory = await MemorySource.load(`${dir}/img`);
    const cache = new BlobCache(`${dir}/cache`);
    const fill = await layersThroughCache(memory, cache);
    await Deno.mkdir(`${dir}/one`);
    await assembleRootfs(fill.layers, `${dir}/one`, { worker: "always" });
    fill.cancel();

    const warm = await layersThroughCache(memory, cache);
    assert(warm.layers.every((layer) => layer.blob.local !== undefined), "every layer is read from the cache");
    let pruned = 0;
    await Deno.mkdir(`${dir}/two`);
    const result = await assembleRootfs(warm.layers, `${dir}/two`, {
      worker: "always",
      onProgress: () => {
        if (pruned === 0) pruned = pruneCache(cache, { all: true }).blobs.length;
      },
    });
    warm.cancel();
    assert(result.readInWorker);
    assert(pruned >= 4, `the layers were pruned (${pruned} blobs)`);
    assert.deepEqual(fsManifest(`${dir}/two`), fsManifest(`${dir}/one`));
  });
});

const DAMAGES: Record<string, (file: string) => void> = {
  "truncated": (file) => Deno.truncateSync(file, 100),
  "changed in place": (file) => {
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

for (const [how, damage] of Object.entries(DAMAGES)) {
  systemTest(`a layer's cached file ${how} before the worker reads it: a clear error; the next run heals`, async () => {
    await withTempDir(async (dir) => {
      await fourLayers(`${dir}/img`);
      const memory = await MemorySource.load(`${dir}/img`);
      const cache = new BlobCache(`${dir}/cache`);

      const first = await layersThroughCache(memory, cache, damage);
      await Deno.mkdir(`${dir}/one`);
      const err = await assembleRootfs(first.layers, `${dir}/one`, { worker: "always" }).then(
        () => undefined,
        (e: unknown) => e,
      );
      first.cancel();
      // The worker follows layer 3's file as it downloads: when it read the bytes before the damage, this run is right
      // and only the next one meets the damage (and heals); else this one fails, clearly.
      if (err === undefined) assert.deepEqual(fsManifest(`${dir}/one`), await expected(dir));
      else {
        assert(err instanceof Oci2LxcError, `an Oci2LxcError, not ${err}`);
        assert.match(err.message, /^Cannot \w+ layer 3\/4 \(sha256:[0-9a-f]{12}\)/, err.message);
        assert.match(err.hint ?? "", /blob cache's copy .*removed or changed.*run the command again.*--pull=always/);
        if (how === "changed in place") assert(err instanceof DigestMismatchError, `${err}`);
      }

      // The next run: the damaged copy is dropped and downloaded again; the rootfs is right.
      const opened = memory.opened;
      const second = await layersThroughCache(memory, cache);
      await Deno.mkdir(`${dir}/two`);
      await assembleRootfs(second.layers, `${dir}/two`, { worker: "always" });
      second.cancel();
      assert.equal(memory.opened - opened, 1, "the damaged layer was downloaded again");
      assert.deepEqual(fsManifest(`${dir}/two`), await expected(dir));
    });
  });
}
