/**
 * What the cache holds, for `oci2lxc cache list`: the images (references and the digests they last resolved to, with
 * the size of their cached blobs) and every blob (size, media type, last use).
 *
 * @module
 */
import type { BlobCache } from "./blob_cache.ts";

/** One cached blob. */
export interface CachedBlob {
  readonly digest: string;
  readonly size: number;
  /** The descriptor's media type when it was cached ("" when unknown). */
  readonly mediaType: string;
  readonly lastUse: Date;
}

/** One image: a reference and what of it is cached. */
export interface CachedImage {
  readonly reference: string;
  /** The index or manifest digest it last resolved to. */
  readonly digest: string;
  /** Bytes of its blobs in the cache (manifests, configs, layers; shared blobs counted in each image). */
  readonly size: number;
  /** Its blobs in the cache, and those its manifests name that are not there (a pruned layer). */
  readonly blobs: number;
  readonly missing: number;
  readonly lastUse: Date;
}

/** The whole listing. */
export interface CacheListing {
  readonly dir: string;
  readonly images: CachedImage[];
  readonly blobs: CachedBlob[];
  /** Bytes of all blobs. */
  readonly size: number;
}

/** List the cache: images by reference, blobs by last use (most recent first). */
export function listCache(cache: BlobCache): CacheListing {
  const blobs = cache.blobs().sort((a, b) =>
    b.lastUse.getTime() - a.lastUse.getTime() || (a.digest < b.digest ? -1 : 1)
  );
  const sizes = new Map(blobs.map((b) => [b.digest, b.size]));
  const images = cache.images().map(({ record, lastUse }) => {
    const digests = imageDigests(cache, record.digest);
    const present = [...digests].filter((d) => sizes.has(d));
    return {
      reference: record.reference,
      digest: record.digest,
      size: present.reduce((sum, d) => sum + sizes.get(d)!, 0),
      blobs: present.length,
      missing: digests.size - present.length,
      lastUse,
    };
  }).sort((a, b) => (a.reference < b.reference ? -1 : a.reference > b.reference ? 1 : 0));
  return { dir: cache.dir, images, blobs, size: blobs.reduce((sum, b) => sum + b.size, 0) };
}

/** The digests an index or manifest names, itself included, following cached child manifests (bounded depth). */
export function imageDigests(cache: BlobCache, top: string): Set<string> {
  const out = new Set<string>();
  const visit = (digest: string, depth: number) => {
    if (out.has(digest)) return;
    out.add(digest);
    if (depth > 4 || !cache.has(digest)) return;
    let doc: { manifests?: { digest?: unknown }[]; config?: { digest?: unknown }; layers?: { digest?: unknown }[] };
    try {
      doc = JSON.parse(Deno.readTextFileSync(cache.blobPath(digest)));
    } catch {
      return; // a layer or config: no children
    }
    for (const m of doc.manifests ?? []) if (typeof m.digest === "string") visit(m.digest, depth + 1);
    // A config or layer has no children; only a manifest's own file is parsed.
    for (const d of [doc.config, ...(doc.layers ?? [])]) if (typeof d?.digest === "string") out.add(d.digest);
  };
  visit(top, 0);
  return out;
}
