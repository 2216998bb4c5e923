/**
 * A content-addressed cache of blobs (layers, configs, manifests) shared by every oci2lxc run on the host.
 *
 * Layout of `DIR`:
 * - `blobs/ALG/HEX`: a blob whose digest was checked before it was renamed in; nothing else is ever there.
 * - `stamps/ALG/HEX`: what we knew when we last checked the blob (inode, size, ctime, media type). Its mtime is the
 *   blob's last use, so the blob itself is never touched and atime does not matter (noatime mounts).
 * - `tmp/`: downloads under way, named `ALG-HEX.PID.RANDOM`; renamed into `blobs/` when verified, removed on a
 *   mismatch or abort. A killed run leaves one here, invisible to readers; `cache prune` removes it.
 * - `locks/ALG-HEX`: a blob's download lock (blob_lock.ts), held only while that blob downloads.
 * - `images/SHA256(REFERENCE).json`: the digest a reference last resolved to (for `--pull=never` and `cache list`).
 *
 * A cached blob is trusted while its stamp matches (inode, size and ctime unchanged: any write to it changes ctime, and
 * a stamp taken within a second of the ctime does not count: see RACY_MS, unless the stamp was written by the process
 * that hashed the bytes as it wrote them: see Stamp.written); otherwise it is hashed again, and dropped when it no
 * longer matches its digest. Readers verify every digest anyway
 * (core/layer/layer_stream.ts), so a blob that rots in place still ends in a clear error, never a wrong rootfs.
 *
 * @module
 */
import { Hasher, parseDigest } from "../digest.ts";
import { Oci2LxcError } from "../errors.ts";

/** What a stamp holds. */
interface Stamp {
  ino: number;
  size: number;
  /** Whole seconds only: Deno's FileInfo.ctime drops the fraction. */
  ctimeMs: number;
  /** In milliseconds: a write moves it too, and in a clock tick (a few ms) rather than a second. */
  mtimeMs?: number;
  /** When the stamp was written: a ctime this close to it may hide a write in the same clock tick. */
  stampedAtMs: number;
  /**
   * Written by the process that wrote and hashed these very bytes, right after renaming them in: the mtime is that of
   * its own last write, so the only write the stamp could hide is a foreign one through the blob's final name within
   * the same clock tick (a few ms) as that last write. The racy rule is not needed then; without this, every blob
   * downloaded was hashed a second time on its next use (a warm convert right after a cold one re-read the image).
   */
  written?: boolean;
  mediaType: string;
}

/**
 * How much older than its stamp a blob's ctime must be for the stamp to vouch for it. ctime moves in coarse clock
 * ticks (up to 10 ms), so a write in the tick the stamp was taken would keep it; as git does with a "racily clean"
 * index entry, such a blob is hashed again on its next use, and stamped anew.
 */
const RACY_MS = 1000;

/** What an image record holds. */
export interface ImageRecord {
  /** The reference as the user wrote it, normalised by the caller (`docker.io/library/debian:12`). */
  readonly reference: string;
  /** The digest it resolved to: an index or a manifest. */
  readonly digest: string;
  readonly mediaType: string;
}

/** A blob being written into the cache. */
export interface BlobWriter {
  /** The temporary file the bytes go to, until `commit` renames it into the cache. */
  readonly path: string;
  /** Append bytes (they are not kept). */
  write(chunk: Uint8Array): Promise<void>;
  /** Check size and digest; rename into the cache when they match. Returns whether the blob was cached. */
  commit(): Promise<boolean>;
  /** Remove what was written. Safe to call after commit, and twice. */
  abort(): void;
}

/** The partial files of this process's downloads under way, with the way to remove each (see abortOpenWriters). */
const openWriters = new Set<() => void>();

/**
 * Remove the partial file of every download still under way in this process: for a program about to exit (an
 * interrupted conversion), so that no download that was still settling its abort leaves its file in `tmp/`.
 */
export function abortOpenWriters(): void {
  for (const abort of [...openWriters]) abort();
}

/** The cache at one directory. Nothing is created until something is written. */
export class BlobCache {
  /** The cache directory. */
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir.replace(/(.)\/+$/, "$1");
  }

  /** `DIR/blobs/ALG/HEX`. */
  blobPath(digest: string): string {
    const d = parseDigest(digest, "a cached blob's digest");
    return `${this.dir}/blobs/${d.algorithm}/${d.hex}`;
  }

  /** `DIR/stamps/ALG/HEX`. */
  stampPath(digest: string): string {
    const d = parseDigest(digest, "a cached blob's digest");
    return `${this.dir}/stamps/${d.algorithm}/${d.hex}`;
  }

  /** `DIR/locks/ALG-HEX`: the blob's download lock. */
  lockPath(digest: string): string {
    const d = parseDigest(digest, "a cached blob's digest");
    return `${this.dir}/locks/${d.algorithm}-${d.hex}`;
  }

  /**
   * The cached file of `digest` when it is there and sound, and its last use set to now. A file of the wrong size,
   * or one that changed since it was checked and no longer matches its digest, is dropped (undefined).
   */
  lookup(digest: string, size?: number): string | undefined {
    const path = this.blobPath(digest);
    let info: Deno.FileInfo;
    try {
      info = Deno.statSync(path);
    } catch {
      return undefined;
    }
    if (!info.isFile || (size !== undefined && info.size !== size)) {
      this.drop(digest);
      return undefined;
    }
    const stamp = this.#readStamp(digest);
    if (!stamp || !matches(stamp, info)) {
      if (hashFile(path, parseDigest(digest, path).algorithm) !== digest) {
        this.drop(digest);
        return undefined;
      }
      this.#writeStamp(digest, path, stamp?.mediaType ?? "", false);
    }
    this.touch(digest);
    return path;
  }

  /** Whether the cache holds `digest` (no check, no touch): for listings. */
  has(digest: string): boolean {
    try {
      return Deno.statSync(this.blobPath(digest)).isFile;
    } catch {
      return false;
    }
  }

  /** The media type recorded for a cached blob ("" when unknown). */
  mediaType(digest: string): string {
    return this.#readStamp(digest)?.mediaType ?? "";
  }

  /** Set the last use of a cached blob to now. */
  touch(digest: string): void {
    const now = new Date();
    try {
      Deno.utimeSync(this.stampPath(digest), now, now);
    } catch {
      // no stamp (a listing or prune raced us): the next lookup writes one
    }
  }

  /** Remove a blob and its stamp. */
  drop(digest: string): void {
    for (const path of [this.blobPath(digest), this.stampPath(digest)]) {
      try {
        Deno.removeSync(path);
      } catch (err) {
        if (!(err instanceof Deno.errors.NotFound)) throw err;
      }
    }
  }

  /** A small blob (a manifest) read whole, when cached and matching its digest; a mismatch drops it. */
  readSmall(digest: string): Uint8Array | undefined {
    let bytes: Uint8Array;
    try {
      bytes = Deno.readFileSync(this.blobPath(digest));
    } catch {
      return undefined;
    }
    const hasher = new Hasher(parseDigest(digest, "a cached manifest").algorithm);
    hasher.update(bytes);
    if (hasher.digest() !== digest) {
      this.drop(digest);
      return undefined;
    }
    this.touch(digest);
    return bytes;
  }

  /** Store a small blob (a manifest) held in memory; nothing is stored when it does not match `digest`. */
  async storeSmall(digest: string, bytes: Uint8Array, mediaType: string): Promise<boolean> {
    const writer = await this.writer(digest, bytes.length, mediaType);
    try {
      await writer.write(bytes);
      return await writer.commit();
    } finally {
      writer.abort();
    }
  }

  /**
   * Start writing `digest` into the cache: to a temporary file in `DIR/tmp/`, hashed as it goes. Callers that may
   * race hold the blob's lock (blob_lock.ts); without it two writers of one digest are still safe (the last rename
   * wins, with the same bytes).
   */
  async writer(digest: string, size: number | undefined, mediaType: string): Promise<BlobWriter> {
    const d = parseDigest(digest, "a blob to cache");
    await Deno.mkdir(`${this.dir}/tmp`, { recursive: true });
    const tmp = `${this.dir}/tmp/${d.algorithm}-${d.hex}.${Deno.pid}.${crypto.randomUUID().slice(0, 8)}`;
    const file = await Deno.open(tmp, { write: true, createNew: true, mode: 0o644 });
    const hasher = new Hasher(d.algorithm);
    let open = true;
    const closeFile = () => {
      if (!open) return;
      open = false;
      file.close();
    };
    const abort = () => {
      openWriters.delete(abort);
      closeFile();
      try {
        Deno.removeSync(tmp);
      } catch {
        // renamed in, or removed already
      }
    };
    openWriters.add(abort);
    return {
      path: tmp,
      // Synchronous: a chunk goes into the page cache in microseconds, less than the async op's hop to a blocking
      // thread and back (a profile of a cold convert: 64 ms of main-thread time for 78 MB written async).
      write: (chunk) => {
        hasher.update(chunk);
        for (let at = 0; at < chunk.length;) at += file.writeSync(chunk.subarray(at));
        return Promise.resolve();
      },
      commit: async () => {
        closeFile();
        if (hasher.digest() !== digest || (size !== undefined && hasher.size !== size)) {
          abort();
          return false;
        }
        const path = this.blobPath(digest);
        await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
        await Deno.rename(tmp, path);
        openWriters.delete(abort);
        this.#writeStamp(digest, path, mediaType, true);
        return true;
      },
      abort,
    };
  }

  /** Remember that `reference` resolved to `digest` (its last use is now). */
  async recordImage(record: ImageRecord): Promise<void> {
    await Deno.mkdir(`${this.dir}/images`, { recursive: true });
    const path = this.#imagePath(record.reference);
    const tmp = `${path}.${Deno.pid}.${crypto.randomUUID().slice(0, 8)}`;
    await Deno.writeTextFile(tmp, JSON.stringify(record) + "\n");
    await Deno.rename(tmp, path);
  }

  /** The digest `reference` last resolved to, if recorded. */
  image(reference: string): ImageRecord | undefined {
    try {
      const record = JSON.parse(Deno.readTextFileSync(this.#imagePath(reference))) as ImageRecord;
      return typeof record.digest === "string" ? record : undefined;
    } catch {
      return undefined;
    }
  }

  /** Every image record, with its file's path and last use. */
  images(): { record: ImageRecord; path: string; lastUse: Date }[] {
    const out: { record: ImageRecord; path: string; lastUse: Date }[] = [];
    for (const entry of readDirSafe(`${this.dir}/images`)) {
      if (!entry.endsWith(".json")) continue;
      const path = `${this.dir}/images/${entry}`;
      try {
        const record = JSON.parse(Deno.readTextFileSync(path)) as ImageRecord;
        out.push({ record, path, lastUse: Deno.statSync(path).mtime ?? new Date(0) });
      } catch {
        // being replaced, or not ours
      }
    }
    return out;
  }

  /** Every cached blob: digest, size, media type and last use. */
  blobs(): { digest: string; size: number; mediaType: string; lastUse: Date }[] {
    const out: { digest: string; size: number; mediaType: string; lastUse: Date }[] = [];
    for (const algorithm of ["sha256", "sha512"]) {
      for (const hex of readDirSafe(`${this.dir}/blobs/${algorithm}`)) {
        const digest = `${algorithm}:${hex}`;
        try {
          const size = Deno.statSync(this.blobPath(digest)).size;
          let lastUse = new Date(0);
          try {
            lastUse = Deno.statSync(this.stampPath(digest)).mtime ?? lastUse;
          } catch {
            // no stamp: never used since it was written by a run that was killed right after the rename
          }
          out.push({ digest, size, mediaType: this.mediaType(digest), lastUse });
        } catch {
          // not a digest we wrote, or removed meanwhile
        }
      }
    }
    return out;
  }

  #imagePath(reference: string): string {
    const hasher = new Hasher("sha256");
    hasher.update(new TextEncoder().encode(reference));
    return `${this.dir}/images/${hasher.digest().slice("sha256:".length)}.json`;
  }

  #readStamp(digest: string): Stamp | undefined {
    try {
      return JSON.parse(Deno.readTextFileSync(this.stampPath(digest))) as Stamp;
    } catch {
      return undefined;
    }
  }

  #writeStamp(digest: string, path: string, mediaType: string, written: boolean): void {
    const info = Deno.statSync(path);
    const stamp: Stamp = {
      ino: info.ino ?? 0,
      size: info.size,
      ctimeMs: info.ctime?.getTime() ?? 0,
      mtimeMs: info.mtime?.getTime() ?? 0,
      stampedAtMs: Date.now(),
      written,
      mediaType,
    };
    const stampPath = this.stampPath(digest);
    Deno.mkdirSync(stampPath.slice(0, stampPath.lastIndexOf("/")), { recursive: true });
    const tmp = `${stampPath}.${Deno.pid}.tmp`;
    Deno.writeTextFileSync(tmp, JSON.stringify(stamp));
    Deno.renameSync(tmp, stampPath);
  }
}

/** Whether the blob is still the file we checked. */
function matches(stamp: Stamp, info: Deno.FileInfo): boolean {
  const ctime = info.ctime?.getTime() ?? 0;
  // Stamps from before mtimeMs was kept have none; their racy rule still holds.
  const mtimeSame = stamp.mtimeMs === undefined || stamp.mtimeMs === (info.mtime?.getTime() ?? 0);
  return stamp.ino === (info.ino ?? 0) && stamp.size === info.size && stamp.ctimeMs === ctime && mtimeSame &&
    (stamp.written === true || stamp.stampedAtMs - ctime >= RACY_MS);
}

/** The digest of a whole file. */
function hashFile(path: string, algorithm: "sha256" | "sha512"): string {
  const hasher = new Hasher(algorithm);
  using file = Deno.openSync(path, { read: true });
  const buffer = new Uint8Array(1 << 20);
  for (;;) {
    const n = file.readSync(buffer);
    if (n === null || n === 0) break;
    hasher.update(buffer.subarray(0, n));
  }
  return hasher.digest();
}

/** The names in a directory, or none when it does not exist. */
export function readDirSafe(dir: string): string[] {
  try {
    return [...Deno.readDirSync(dir)].map((e) => e.name).sort();
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return [];
    throw new Oci2LxcError("destination", `Cannot read the cache directory ${dir}: ${(err as Error).message}`, {
      hint: "Check its permissions, or give another with --cache-dir DIR",
    });
  }
}
