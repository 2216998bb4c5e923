/**
 * The blob cache as an ImageSource wrapper, on real fixtures served as streams only (tests/image/_memory_source.ts,
 * as a registry serves them) and through the real assembly: a second use reads nothing from the source and takes the
 * local fast path; a damaged cached blob is noticed, dropped and fetched again; a failed or killed download leaves no
 * entry; `--pull=never` and `--pull=always` do what they say.
 */
import assert from "node:assert/strict";
import { assembleRootfs } from "../../core/assemble.ts";
import { BlobCache } from "../../core/cache/blob_cache.ts";
import { cachingSource, resolveWithCache } from "../../core/cache/caching_source.ts";
import { listCache } from "../../core/cache/cache_list.ts";
import { pruneCache } from "../../core/cache/cache_prune.ts";
import { Oci2LxcError } from "../../core/errors.ts";
import type { ImageSource } from "../../core/image/image_source.ts";
import { parsePlatform } from "../../core/image/platform.ts";
import { selectImage } from "../../core/image/select_image.ts";
import { fsManifest } from "../../core/rootfs/fs_manifest.ts";
import { FIXTURES, withTempDir } from "../_helpers/oci_builder.ts";
import { MemorySource } from "../image/_memory_source.ts";
import { systemTest } from "../_helpers/tier.ts";

const AMD64 = parsePlatform("linux/amd64");
const BUSYBOX = `${FIXTURES}busybox.oci.tar`;

function selectFrom(source: ImageSource, top: MemorySource["top"]) {
  return selectImage(source, top, { reference: "memory", transport: "memory", refName: undefined, platform: AMD64 });
}

/** Select and assemble through `source` into `dest`, with the layer worker. */
async function convert(source: ImageSource, top: MemorySource["top"], dest: string) {
  const image = await selectFrom(source, top);
  await Deno.mkdir(dest);
  await assembleRootfs(image.layers, dest, { worker: "always" });
  return image;
}

systemTest(
  "a second use of a cached image reads no blob from the source and hands the layers out as local files",
  async () => {
    await withTempDir(async (dir) => {
      const memory = await MemorySource.load(BUSYBOX);
      const cache = new BlobCache(`${dir}/cache`);
      const first = await convert(cachingSource(memory, cache), memory.top, `${dir}/one`);
      assert(first.layers.every((l) => l.blob.local === undefined), "the first use streams");
      assert.deepEqual(memory.opened, first.layers.length + 1, "config and each layer opened once");
      const opened = memory.opened;
      const second = await convert(cachingSource(memory, cache), memory.top, `${dir}/two`);
      assert.deepEqual(memory.opened, opened, "nothing read from the source the second time");
      for (const layer of second.layers) {
        assert.deepEqual(layer.blob.local?.file, cache.blobPath(layer.blob.digest!), "the fast path: the cached file");
      }
      assert.deepEqual(fsManifest(`${dir}/two`), fsManifest(`${dir}/one`));
      const listing = listCache(cache);
      // index's manifest, config, layers
      assert.deepEqual(listing.blobs.length, first.layers.length + 2);
      assert(listing.blobs.every((b) => cache.has(b.digest)));
    });
  },
);

systemTest("a cached layer damaged on disk (same size, or cut short) is dropped and fetched again", async () => {
  await withTempDir(async (dir) => {
    const memory = await MemorySource.load(BUSYBOX);
    const cache = new BlobCache(`${dir}/cache`);
    const image = await convert(cachingSource(memory, cache), memory.top, `${dir}/one`);
    const layer = image.layers[0]!.blob;
    const path = cache.blobPath(layer.digest!);
    // A flipped byte in the middle: same size, so only the digest can tell.
    using file = await Deno.open(path, { read: true, write: true });
    const byte = new Uint8Array(1);
    await file.seek(1000, Deno.SeekMode.Start);
    await file.read(byte);
    byte[0] = byte[0]! ^ 0x55;
    await file.seek(1000, Deno.SeekMode.Start);
    await file.write(byte);
    const opened = memory.opened;
    const again = await convert(cachingSource(memory, cache), memory.top, `${dir}/two`);
    assert.deepEqual(memory.opened, opened + 1, "the damaged layer was fetched again, nothing else");
    assert.deepEqual(again.layers[0]!.blob.local, undefined, "the damaged copy was not handed out");
    assert.deepEqual(fsManifest(`${dir}/two`), fsManifest(`${dir}/one`));
    assert(cache.lookup(layer.digest!, layer.size) === path, "the good bytes are cached again");
    await Deno.truncate(path, 100);
    assert.deepEqual(cache.lookup(layer.digest!, layer.size), undefined, "a short file is dropped");
    assert(!cache.has(layer.digest!));
  });
});

Deno.test("a download that fails or is cancelled leaves nothing in the cache, and the next use fetches it whole", async () => {
  await withTempDir(async (dir) => {
    const memory = await MemorySource.load(BUSYBOX);
    const cache = new BlobCache(`${dir}/cache`);
    const image = await selectFrom(cachingSource(memory, cache), memory.top);
    const blob = image.layers[0]!.blob;
    memory.faults.set(blob.digest!, { failAfter: 8000, error: new Error("connection reset by peer") });
    await assert.rejects(async () => {
      for await (const _ of await blob.open()) { /* read to the failure */ }
    }, (err) => err instanceof Error && err.message.includes("connection reset by peer"));
    assert(!cache.has(blob.digest!), "no entry after a failure");
    memory.faults.delete(blob.digest!);
    const reader = (await blob.open()).getReader();
    await reader.read();
    await reader.cancel();
    assert(!cache.has(blob.digest!), "no entry after a cancel");
    assert.deepEqual([...Deno.readDirSync(`${dir}/cache/tmp`)].length, 0, "no partial file left");
    memory.faults.set(blob.digest!, { flipAt: 10 });
    for await (const _ of await blob.open()) { /* a damaged transfer: the reader's check would fail it */ }
    assert(!cache.has(blob.digest!), "no entry for bytes that do not match the digest");
    memory.faults.delete(blob.digest!);
    for await (const _ of await blob.open()) { /* whole */ }
    assert(cache.has(blob.digest!), "cached after a whole transfer");
  });
});

systemTest(
  "a killed download leaves no visible entry; the next run fetches the blob, and prune removes the leftover",
  async () => {
    await withTempDir(async (dir) => {
      const cacheDir = `${dir}/cache`;
      const child = new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          new URL("./_cache_child.ts", import.meta.url).pathname,
          "hang",
          BUSYBOX,
          cacheDir,
          "-",
          "-",
        ],
        stdout: "piped",
        stderr: "inherit",
      }).spawn();
      const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
      let out = "";
      while (!out.includes("started")) {
        const { done, value } = await reader.read();
        if (done) break;
        out += value;
      }
      assert(out.includes("started"), `the child started its download: ${out}`);
      child.kill("SIGKILL");
      await child.status;
      await reader.cancel();
      const cache = new BlobCache(cacheDir);
      const memory = await MemorySource.load(BUSYBOX);
      const doc = JSON.parse(new TextDecoder().decode(await memory.manifest(memory.top[0]!)));
      const biggest = [doc.config, ...doc.layers].sort((a, b) => b.size - a.size)[0];
      assert(!cache.has(biggest.digest), "the cut blob is not in the cache");
      assert(!listCache(cache).blobs.some((b) => b.digest === biggest.digest), "nor in the listing");
      assert.deepEqual([...Deno.readDirSync(`${cacheDir}/tmp`)].length, 1, "its partial file is in tmp/");
      // The dead child's lock is gone with it: this run does not wait, and fetches the blob whole.
      await convert(cachingSource(memory, cache), memory.top, `${dir}/rootfs`);
      assert(cache.has(biggest.digest));
      const pruned = pruneCache(cache);
      assert.deepEqual(pruned.leftovers, 1);
      assert.deepEqual(pruned.blobs, [], "prune without limits removes no blob");
      assert.deepEqual([...Deno.readDirSync(`${cacheDir}/tmp`)].length, 0);
    });
  },
);

Deno.test("two processes reading one image into an empty cache at once fetch each blob once between them", async () => {
  await withTempDir(async (dir) => {
    await Deno.mkdir(`${dir}/ready`);
    const children = ["a", "b"].map((name) =>
      new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          new URL("./_cache_child.ts", import.meta.url).pathname,
          "memory",
          `${FIXTURES}busybox.multiarch.oci.tar`,
          `${dir}/cache`,
          `${dir}/ready`,
          name,
        ],
        stdout: "piped",
        stderr: "inherit",
      }).output()
    );
    const results = (await Promise.all(children)).map((r) => {
      assert(r.success, "the child succeeded");
      return JSON.parse(new TextDecoder().decode(r.stdout)) as { opened: number; manifests: string[]; blobs: string[] };
    });
    assert.deepEqual(results[0]!.blobs, results[1]!.blobs, "both read the whole image");
    assert(results[0]!.blobs.length >= 4, "configs and layers of two platforms");
    assert.deepEqual(
      results[0]!.opened + results[1]!.opened,
      results[0]!.blobs.length,
      "each blob fetched once in total",
    );
  });
});

systemTest("--pull=never reads only the cache and names what is missing; --pull=always fetches again", async () => {
  await withTempDir(async (dir) => {
    const memory = await MemorySource.load(BUSYBOX);
    const cache = new BlobCache(`${dir}/cache`);
    const never = cachingSource(memory, cache, { pull: "never" });
    await assert.rejects(() => selectFrom(never, memory.top), (err) => {
      assert.ok(err instanceof Oci2LxcError && err.message.includes("--pull=never"), String(err));
      assert.equal(err.code, "registry");
      return true;
    });
    assert.deepEqual(memory.opened, 0);
    await assert.rejects(
      () => resolveWithCache(cache, "127.0.0.1:1/busybox:latest", "never", () => Promise.reject(new Error("asked"))),
      (err) => err instanceof Oci2LxcError && err.message.includes("was never pulled"),
    );
    const top = memory.top[0]!;
    const resolved = await resolveWithCache(
      cache,
      "127.0.0.1:1/busybox:latest",
      "missing",
      () => Promise.resolve({ digest: top.digest, mediaType: top.mediaType ?? "" }),
    );
    assert.deepEqual(resolved.digest, top.digest);
    await convert(cachingSource(memory, cache), memory.top, `${dir}/one`);
    const opened = memory.opened;
    const offline = await resolveWithCache(cache, "127.0.0.1:1/busybox:latest", "never", () => {
      throw new Error("the registry must not be asked");
    });
    assert.deepEqual(offline.digest, top.digest);
    await convert(never, memory.top, `${dir}/two`);
    assert.deepEqual(memory.opened, opened, "never: nothing fetched");
    const image = await convert(cachingSource(memory, cache, { pull: "always" }), memory.top, `${dir}/three`);
    assert.deepEqual(memory.opened, opened + image.layers.length + 1, "always: config and layers fetched again");
    assert.throws(() =>
      cachingSource(memory, new BlobCache(`${dir}/empty`), { pull: "never" }).blob(
        image.layers[0]!.blob as never,
        "layer 1",
      )
    );
  });
});

Deno.test("a cache directory that cannot be written is a clear error naming it, with the way out", async () => {
  await withTempDir(async (dir) => {
    const memory = await MemorySource.load(BUSYBOX);
    // A file where the cache directory should be: no user, root included, can make directories under it.
    await Deno.writeTextFile(`${dir}/cache`, "");
    const image = await selectFrom(cachingSource(memory, new BlobCache(`${dir}/cache/sub`)), memory.top).catch((e) =>
      e
    );
    assert(image instanceof Oci2LxcError && image.code === "destination", String(image));
    assert(image.message.startsWith(`Cannot write the blob cache ${dir}/cache/sub: `), image.message);
    assert(image.hint?.includes("--no-cache"), image.hint);
  });
});
