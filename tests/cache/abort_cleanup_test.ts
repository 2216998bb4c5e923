/**
 * A download into the blob cache that is aborted while it is being opened (the cache file made, the stream not yet
 * read: a download ahead at the moment of a Ctrl-C) removes its partial file in the abort's own turn, so a process that
 * exits right after leaves nothing in tmp/. The CLI case is tests/e2e/registry_cache_race_test.ts (SIGINT at the start
 * of a cold convert), which left such a file now and then.
 */
import assert from "node:assert/strict";
import { BlobCache } from "../../core/cache/blob_cache.ts";
import { cachingSource } from "../../core/cache/caching_source.ts";
import { parsePlatform } from "../../core/image/platform.ts";
import { selectImage } from "../../core/image/select_image.ts";
import { withTempDir, writeOciDir } from "../_helpers/oci_builder.ts";
import { file } from "../rootfs/_layers.ts";
import { layerTar } from "../rootfs/_oci_image.ts";
import { MemorySource } from "../image/_memory_source.ts";

const SELECT = { reference: "memory", transport: "memory", refName: undefined, platform: parsePlatform("linux/amd64") };

Deno.test("a cache download aborted while it opens leaves no partial file, though its stream is never read", async () => {
  await withTempDir(async (dir) => {
    await writeOciDir(`${dir}/img`, [{ tar: layerTar([file("a", "a".repeat(100_000))]), compression: "gzip" }]);
    const memory = await MemorySource.load(`${dir}/img`);
    const cache = new BlobCache(`${dir}/cache`);
    const image = await selectImage(cachingSource(memory, cache), memory.top, SELECT);
    const controller = new AbortController();
    const opening = image.layers[0]!.blob.open({ signal: controller.signal });
    // The abort comes while open() is under way: it goes on to make the cache file and hand back the stream.
    controller.abort();
    const stream = await opening.catch(() => undefined);
    // Nothing was read from the stream, and nothing else ran: the partial file is gone all the same.
    assert.deepEqual([...Deno.readDirSync(`${dir}/cache/tmp`)].map((e) => e.name), []);
    await stream?.cancel().catch(() => {});
    assert(!cache.has(image.layers[0]!.blob.digest!));
  });
});
