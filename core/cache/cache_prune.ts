/**
 * `oci2lxc cache prune`: remove blobs by last use. Leftovers of killed downloads (`tmp/`) and records of images whose
 * top manifest is gone are always removed; `all` removes every blob, `olderThanMs` the blobs not used for that long,
 * `maxSize` the least recently used blobs until the rest fit. A blob being downloaded is never touched (its lock is
 * held, and it is not in `blobs/` yet); a blob a running conversion is reading stays readable (an open file outlives
 * its name).
 *
 * @module
 */
import type { BlobCache } from "./blob_cache.ts";
import { readDirSafe } from "./blob_cache.ts";
import { tryBlobLock } from "./blob_lock.ts";

/** What to remove. */
export interface PruneOptions {
  all?: boolean | undefined;
  /** Remove blobs last used more than this many milliseconds ago. */
  olderThanMs?: number | undefined;
  /** Then remove least recently used blobs until the cache holds at most this many bytes. */
  maxSize?: number | undefined;
  /** The time to measure ages from (default now). */
  now?: Date | undefined;
}

/** What was removed. */
export interface PruneResult {
  readonly blobs: { digest: string; size: number }[];
  readonly images: string[];
  /** Leftover partial downloads removed. */
  readonly leftovers: number;
  /** Bytes freed (blobs and leftovers). */
  readonly freed: number;
}

/** Prune the cache as `options` say. */
export function pruneCache(cache: BlobCache, options: PruneOptions = {}): PruneResult {
  const now = (options.now ?? new Date()).getTime();
  let freed = 0;
  let leftovers = 0;
  // The lock files live here; without a cache directory there is nothing to prune.
  if (readDirSafe(cache.dir).length > 0) Deno.mkdirSync(`${cache.dir}/locks`, { recursive: true });
  for (const name of readDirSafe(`${cache.dir}/tmp`)) {
    const m = /^(sha256|sha512)-([a-f0-9]+)\./.exec(name);
    const lock = m ? tryBlobLock(cache.lockPath(`${m[1]}:${m[2]}`)) : undefined;
    if (m && !lock) continue; // downloading right now
    try {
      const path = `${cache.dir}/tmp/${name}`;
      const size = Deno.statSync(path).size;
      Deno.removeSync(path);
      freed += size;
      leftovers++;
    } catch {
      // gone meanwhile
    } finally {
      lock?.release();
    }
  }
  // Least recently used first.
  const blobs = cache.blobs().sort((a, b) => a.lastUse.getTime() - b.lastUse.getTime());
  let total = blobs.reduce((sum, b) => sum + b.size, 0);
  const removed: { digest: string; size: number }[] = [];
  for (const blob of blobs) {
    const old = options.olderThanMs !== undefined && now - blob.lastUse.getTime() > options.olderThanMs;
    const over = options.maxSize !== undefined && total > options.maxSize;
    if (!options.all && !old && !over) continue;
    const lock = tryBlobLock(cache.lockPath(blob.digest));
    if (!lock) continue; // being fetched again (`--pull=always`): leave it
    try {
      cache.drop(blob.digest);
    } finally {
      lock.release();
    }
    removed.push({ digest: blob.digest, size: blob.size });
    total -= blob.size;
    freed += blob.size;
  }
  const images: string[] = [];
  for (const { record, path } of cache.images()) {
    if (!options.all && cache.has(record.digest)) continue;
    try {
      Deno.removeSync(path);
      images.push(record.reference);
    } catch {
      // removed by another prune
    }
  }
  return { blobs: removed, images: images.sort(), leftovers, freed };
}
