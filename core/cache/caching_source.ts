/**
 * An {@linkcode ImageSource} wrapper that reads through the blob cache (blob_cache.ts): a cached blob is handed out as
 * a local file range (the fast path: the layer worker reads it itself, nothing is downloaded), an uncached one as a
 * stream that tees the source's bytes into the cache while the reader consumes them. The blob enters the cache only
 * when all of it arrived and matched its digest; a mismatch, a cancel or an abort removes what was written.
 *
 * Across processes, a blob downloads once: its download lock (blob_lock.ts) is taken when the stream is opened and let
 * go when it ends, so a second run that wants the same blob waits, then reads the cached file. No lock is held across
 * a conversion, only across one blob's download.
 *
 * @module
 */
import type { Blob, BlobOpenOptions } from "../image/blob.ts";
import type { Descriptor } from "../image/descriptor.ts";
import type { ImageSource } from "../image/image_source.ts";
import { shortDigest } from "../digest.ts";
import { Oci2LxcError } from "../errors.ts";
import { rangeStream } from "../image/range_reader.ts";
import type { BlobCache } from "./blob_cache.ts";
import { type BlobLock, blobLock } from "./blob_lock.ts";
import type { PullPolicy } from "./cache_dir.ts";

/** Options for {@linkcode cachingSource}. */
export interface CachingSourceOptions {
  /** `--pull`: default `missing`. */
  pull?: PullPolicy | undefined;
  /** Told once per blob when another process is downloading it and this one waits. */
  onWait?: ((what: string, digest: string) => void) | undefined;
}

/**
 * Wrap `source` so its manifests and blobs come from `cache` when there, and go into it when fetched.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { BlobCache } from "./blob_cache.ts";
 * import { cachingSource } from "./caching_source.ts";
 * import type { ImageSource } from "../image/image_source.ts";
 * // A source that is never reached: with --pull=never nothing but the cache is read.
 * const offline: ImageSource = {
 *   description: "docker://registry.example/app:1",
 *   manifest: () => Promise.reject(new Error("not reached")),
 *   blob: () => {
 *     throw new Error("not reached");
 *   },
 * };
 * const dir = Deno.makeTempDirSync();
 * const source = cachingSource(offline, new BlobCache(dir), { pull: "never" });
 * assert.equal(source.description, offline.description);
 * await assert.rejects(source.manifest({ mediaType: "", digest: `sha256:${"0".repeat(64)}`, size: 2 }, "the manifest"));
 * Deno.removeSync(dir, { recursive: true });
 * ```
 */
export function cachingSource(source: ImageSource, cache: BlobCache, options: CachingSourceOptions = {}): ImageSource {
  const pull = options.pull ?? "missing";
  return {
    description: source.description,
    async manifest(descriptor: Descriptor, what: string): Promise<Uint8Array> {
      if (pull !== "always") {
        const cached = cache.readSmall(descriptor.digest);
        if (cached) return cached;
      }
      if (pull === "never") throw notCached(what, descriptor.digest, source.description);
      // Under the blob's lock too, so two runs that start together ask the registry once.
      const lock = await lockBlob(cache, descriptor.digest, undefined, () => options.onWait?.(what, descriptor.digest));
      try {
        const cached = pull === "always" ? undefined : cache.readSmall(descriptor.digest);
        if (cached) return cached;
        const bytes = await source.manifest(descriptor, what);
        // Stored only when it matches its digest; the caller checks it again and reports a mismatch in its words.
        await cache.storeSmall(descriptor.digest, bytes, descriptor.mediaType ?? "");
        return bytes;
      } finally {
        lock.release();
      }
    },
    blob(descriptor: Descriptor, what: string): Blob {
      const digest = descriptor.digest;
      const name = `${what} ${shortDigest(digest)} in ${source.description}`;
      const mediaType = descriptor.mediaType ?? "";
      const cached = pull === "always" ? undefined : cache.lookup(digest, descriptor.size);
      if (cached) {
        const local = { file: cached, offset: 0, size: Deno.statSync(cached).size, hint: goneHint(cached) };
        return {
          name,
          digest,
          size: descriptor.size,
          mediaType,
          local,
          open: () => Promise.resolve(rangeStream(local, name)),
        };
      }
      if (pull === "never") throw notCached(what, digest, source.description);
      // Under `always`, only a copy this run downloaded counts, not one that was in the cache before.
      let stored = false;
      const onStored = () => stored = true;
      return {
        name,
        digest,
        size: descriptor.size,
        mediaType,
        local: undefined,
        open: (open?: BlobOpenOptions) => openThrough(source, cache, descriptor, what, pull, open, options, onStored),
        // Cached by now (downloaded ahead by this run, or by another run): its file, checked as any cached blob.
        whenLocal: () => {
          const file = pull === "always" && !stored ? undefined : cache.lookup(digest, descriptor.size);
          return Promise.resolve(
            file ? { file, offset: 0, size: Deno.statSync(file).size, hint: goneHint(file) } : undefined,
          );
        },
      };
    },
  };
}

/** The stream of an uncached blob: after its lock, from the cache when another run filled it, else teed into it. */
async function openThrough(
  source: ImageSource,
  cache: BlobCache,
  descriptor: Descriptor,
  what: string,
  pull: PullPolicy,
  open: BlobOpenOptions | undefined,
  options: CachingSourceOptions,
  onStored: () => void,
): Promise<ReadableStream<Uint8Array>> {
  const digest = descriptor.digest;
  const lock = await lockBlob(cache, digest, open?.signal, () => options.onWait?.(what, digest));
  let writer;
  let stream: ReadableStream<Uint8Array>;
  try {
    // Another run may have cached it while we waited (under `always` we fetch anyway).
    const cached = pull === "always" ? undefined : cache.lookup(digest, descriptor.size);
    if (cached) {
      lock.release();
      return rangeStream({ file: cached, offset: 0, size: Deno.statSync(cached).size }, `${what} ${digest}`);
    }
    stream = await source.blob(descriptor, what).open(open);
    writer = await cache.writer(digest, descriptor.size, descriptor.mediaType ?? "").catch(async (err) => {
      await stream.cancel();
      throw cacheError(cache, err);
    });
  } catch (err) {
    lock.release();
    throw err;
  }
  const w = writer;
  open?.onSpill?.(w.path, goneHint(cache.blobPath(digest)));
  const reader = stream.getReader();
  const signal = open?.signal;
  const finish = () => {
    signal?.removeEventListener("abort", finish);
    w.abort();
    lock.release();
  };
  // An abort removes the partial file at once, in the abort's own turn, not at the stream's next read: a process that
  // exits right after (Ctrl-C) would leave it in tmp/ otherwise, e.g. a download ahead whose stream had just been
  // handed back (or not yet read) when the abort came.
  if (signal?.aborted) finish();
  else signal?.addEventListener("abort", finish, { once: true });
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done, value } = await reader.read();
        if (done) {
          if (await w.commit()) onStored();
          finish();
          controller.close();
          return;
        }
        // Written before it is handed on: the reader may reuse or transfer the chunk's buffer.
        await w.write(value);
        controller.enqueue(value);
      } catch (err) {
        finish();
        throw err;
      }
    },
    async cancel(reason) {
      finish();
      await reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
}

/** Take a blob's download lock, making the lock directory; a cache we cannot write is a clear error. */
async function lockBlob(
  cache: BlobCache,
  digest: string,
  signal: AbortSignal | undefined,
  onWait: () => void,
): Promise<BlobLock> {
  try {
    await Deno.mkdir(`${cache.dir}/locks`, { recursive: true });
    return await blobLock(cache.lockPath(digest), { signal, onWait });
  } catch (err) {
    throw err instanceof Oci2LxcError ? err : cacheError(cache, err);
  }
}

/**
 * The hint for a cached blob that is gone or damaged when it is read (LocalRange.hint): another process removed or
 * changed it after the lookup that vouched for it. The next run's lookup sees the change and downloads the blob again;
 * damage its stamp cannot see (the disk's own) needs a download that does not trust the cache.
 */
function goneHint(file: string): string {
  return `The blob cache's copy ${file} was removed or changed while this run used it ('oci2lxc cache prune'?): ` +
    "run the command again; if the same error comes back, run it with --pull=always";
}

function cacheError(cache: BlobCache, err: unknown): Oci2LxcError {
  return new Oci2LxcError("destination", `Cannot write the blob cache ${cache.dir}: ${(err as Error).message}`, {
    cause: err,
    hint: "Give a directory you can write with --cache-dir DIR, or --no-cache",
  });
}

function notCached(what: string, digest: string, description: string): Oci2LxcError {
  return new Oci2LxcError(
    "registry",
    `Cannot read ${what} ${
      shortDigest(digest)
    } of ${description}: it is not in the cache, and --pull=never forbids downloading it`,
    { hint: "Run once without --pull=never (the default --pull=missing downloads what the cache lacks)" },
  );
}

/**
 * The digest a reference resolves to, under the pull policy: asked of the registry (`resolveRemote`) unless `never`,
 * when the digest last recorded for it is taken; recorded either way, so `cache list` shows it. A moved tag is noticed
 * because the registry is always asked.
 *
 * @throws {Oci2LxcError} code "registry" under `never` when the reference was never resolved with this cache
 */
export async function resolveWithCache(
  cache: BlobCache,
  reference: string,
  pull: PullPolicy,
  resolveRemote: () => Promise<{ digest: string; mediaType: string }>,
): Promise<{ digest: string; mediaType: string }> {
  if (pull === "never") {
    const record = cache.image(reference);
    if (!record) {
      throw new Oci2LxcError(
        "registry",
        `Cannot resolve ${reference} from the cache: it was never pulled into ${cache.dir}, and --pull=never forbids asking the registry`,
        { hint: "Run once without --pull=never, or check --cache-dir" },
      );
    }
    await cache.recordImage(record);
    return { digest: record.digest, mediaType: record.mediaType };
  }
  const resolved = await resolveRemote();
  await cache.recordImage({ reference, digest: resolved.digest, mediaType: resolved.mediaType });
  return resolved;
}
