/**
 * `cache prune` removes exactly what it says (by age, to a size, all; leftovers always; a blob being downloaded
 * never), and `cache list` shows images and blobs with sizes and last use, through the library and the CLI.
 */
import assert from "node:assert/strict";
import { BlobCache } from "../../core/cache/blob_cache.ts";
import { listCache } from "../../core/cache/cache_list.ts";
import { pruneCache } from "../../core/cache/cache_prune.ts";
import { tryBlobLock } from "../../core/cache/blob_lock.ts";
import { parseDuration, parseSize } from "../../cli/cache_command.ts";
import { Oci2LxcError } from "../../core/errors.ts";
import { sha256, withTempDir } from "../_helpers/oci_builder.ts";
import { cli } from "../e2e/_cli.ts";
import { systemTest } from "../_helpers/tier.ts";

const DAY = 86_400_000;
const NOW = new Date("2026-12-05T12:00:00Z");

/** A blob of `size` bytes of `fill`, cached and last used `daysAgo` days before NOW. */
async function put(cache: BlobCache, fill: number, size: number, daysAgo: number): Promise<string> {
  const bytes = new Uint8Array(size).fill(fill);
  const digest = sha256(bytes);
  assert(await cache.storeSmall(digest, bytes, "application/vnd.oci.image.layer.v1.tar"));
  const used = new Date(NOW.getTime() - daysAgo * DAY);
  await Deno.utime(cache.stampPath(digest), used, used);
  return digest;
}

Deno.test("prune --older-than removes the blobs not used for that long, and nothing else", async () => {
  await withTempDir(async (dir) => {
    const cache = new BlobCache(dir);
    const old = await put(cache, 1, 1000, 40);
    const older = await put(cache, 2, 2000, 90);
    const fresh = await put(cache, 3, 3000, 2);
    const result = pruneCache(cache, { olderThanMs: 30 * DAY, now: NOW });
    assert.deepEqual(result.blobs.map((b) => b.digest).sort(), [old, older].sort());
    assert.deepEqual(result.freed, 3000);
    assert.deepEqual(listCache(cache).blobs.map((b) => b.digest), [fresh]);
  });
});

Deno.test("prune --max-size removes least recently used blobs until the rest fit", async () => {
  await withTempDir(async (dir) => {
    const cache = new BlobCache(dir);
    const a = await put(cache, 1, 1000, 1);
    const b = await put(cache, 2, 1000, 5);
    const c = await put(cache, 3, 1000, 3);
    const result = pruneCache(cache, { maxSize: 2000, now: NOW });
    assert.deepEqual(result.blobs.map((x) => x.digest), [b], "only the least recently used one");
    assert.deepEqual(listCache(cache).blobs.map((x) => x.digest), [a, c], "most recent first");
    assert.deepEqual(pruneCache(cache, { maxSize: 0 }).blobs.map((x) => x.digest), [c, a]);
  });
});

Deno.test("prune --all removes every blob and image record, but not a blob whose download lock is held", async () => {
  await withTempDir(async (dir) => {
    const cache = new BlobCache(dir);
    const a = await put(cache, 1, 100, 1);
    const b = await put(cache, 2, 100, 1);
    await cache.recordImage({ reference: "127.0.0.1:5000/x:1", digest: a, mediaType: "" });
    await Deno.mkdir(`${dir}/locks`, { recursive: true });
    const lock = tryBlobLock(cache.lockPath(b))!;
    try {
      const result = pruneCache(cache, { all: true });
      assert.deepEqual(result.blobs.map((x) => x.digest), [a]);
      assert.deepEqual(result.images, ["127.0.0.1:5000/x:1"]);
      assert(cache.has(b), "the locked blob stays");
    } finally {
      lock.release();
    }
    assert.deepEqual(pruneCache(cache, { all: true }).blobs.map((x) => x.digest), [b]);
    assert.deepEqual(listCache(cache).blobs, []);
  });
});

Deno.test("an image record whose manifest was pruned is removed; one whose layer was pruned shows it missing", async () => {
  await withTempDir(async (dir) => {
    const cache = new BlobCache(dir);
    const layer = await put(cache, 1, 500, 50);
    const manifest = new TextEncoder().encode(JSON.stringify({
      schemaVersion: 2,
      config: { digest: layer, size: 500 },
      layers: [{ digest: layer, size: 500 }],
    }));
    const digest = sha256(manifest);
    await cache.storeSmall(digest, manifest, "application/vnd.oci.image.manifest.v1+json");
    await cache.recordImage({ reference: "r/x:1", digest, mediaType: "application/vnd.oci.image.manifest.v1+json" });
    assert.deepEqual(listCache(cache).images[0]!.size, 500 + manifest.length);
    pruneCache(cache, { olderThanMs: 30 * DAY, now: NOW });
    const image = listCache(cache).images[0]!;
    assert.deepEqual([image.blobs, image.missing], [1, 1]);
    await Deno.utime(cache.stampPath(digest), new Date(0), new Date(0));
    assert.deepEqual(pruneCache(cache, { olderThanMs: 30 * DAY, now: NOW }).images, ["r/x:1"]);
    assert.deepEqual(listCache(cache).images, []);
  });
});

Deno.test("durations and sizes are read as the help says, and nonsense is a usage error", () => {
  assert.deepEqual(parseDuration("30d"), 30 * DAY);
  assert.deepEqual(parseDuration("1w2d"), 9 * DAY);
  assert.deepEqual(parseSize("10GB"), 10e9);
  assert.deepEqual(parseSize("2GiB"), 2 ** 31);
  assert.deepEqual(parseSize("123"), 123);
  for (const bad of ["30", "d", "3x", "1d 2h"]) {
    assert.throws(
      () => parseDuration(bad),
      (err) => err instanceof Oci2LxcError && err.message.includes("not a duration"),
    );
  }
  for (const bad of ["", "GB", "1.5 ZB", "-1"]) {
    assert.throws(() => parseSize(bad), (err) => err instanceof Oci2LxcError && err.message.includes("not a size"));
  }
});

systemTest("oci2lxc cache list --json and cache prune --max-size through the CLI", async () => {
  await withTempDir(async (dir) => {
    const cache = new BlobCache(dir);
    const a = await put(cache, 1, 1000, 1);
    const b = await put(cache, 2, 1000, 2);
    const listed = await cli("main.ts", ["cache", "list", "--json", "--cache-dir", dir]);
    assert.deepEqual(listed.code, 0, listed.stderr);
    const listing = JSON.parse(listed.stdout) as { blobs: { digest: string; size: number }[]; size: number };
    assert.deepEqual(listing.blobs.map((x) => x.digest), [a, b]);
    assert.deepEqual(listing.size, 2000);
    const text = await cli("main.ts", ["cache", "list", "--cache-dir", dir]);
    assert(text.stdout.includes("2 blobs, 2.0 kB"), text.stdout);
    const pruned = await cli("main.ts", ["cache", "prune", "--max-size", "1kB", "--cache-dir", dir]);
    assert.deepEqual(pruned.code, 0, pruned.stderr);
    assert(pruned.stdout.includes(`removed ${b}`), pruned.stdout);
    assert(!pruned.stdout.includes(`removed ${a}`), pruned.stdout);
    const wrong = await cli("main.ts", ["cache", "list", "--all", "--cache-dir", dir]);
    assert.deepEqual(wrong.code, 2);
    assert(wrong.stderr.includes("it is an option of prune"), wrong.stderr);
  });
});
