/**
 * The client `pull` copies through: the same two calls as {@linkcode RegistryClient} (a manifest, a blob stream), served
 * by the mirrors and then the registry (mirrors.ts), and with a cache, from the blob cache when it holds the digest
 * and into it when not (cachingSource, resolveWithCache: the tag is still asked of the registry unless
 * `--pull=never`). Every blob stream is checked against its digest and size at its end here, whichever way it came,
 * because the layout writer relies on the stream to refuse wrong bytes.
 *
 * @module
 */
import { Hasher, parseDigest, shortDigest } from "../digest.ts";
import { DigestMismatchError } from "../errors.ts";
import { RegistrySource } from "../image/registry_source.ts";
import { MirroredRegistry, type MirrorOptions, pullEndpoints } from "../registry/mirrors.ts";
import { formatRegistryReference, type RegistryReference } from "../registry/reference.ts";
import type {
  GetBlobOptions,
  RegistryBlob,
  RegistryClientOptions,
  RegistryManifest,
} from "../registry/registry_client.ts";
import type { BlobCache } from "./blob_cache.ts";
import type { PullPolicy } from "./cache_dir.ts";
import { cachingSource, resolveWithCache } from "./caching_source.ts";

/** The cache and mirror options of `pull` (and of every registry read). */
export interface PullClientOptions extends RegistryClientOptions {
  /** The blob cache; none by default. */
  cache?: BlobCache | undefined;
  /** `--pull`, with a cache: default `missing`. */
  pull?: PullPolicy | undefined;
  /** `--registry-mirror` and `--registries-conf`. */
  mirrors?: MirrorOptions | undefined;
  /** Told when a mirror fails and the next endpoint serves instead. */
  onWarning?: ((message: string) => void) | undefined;
}

/** What `pull` calls; the repository argument is the reference's (each endpoint knows its own). */
export interface PullClient extends Disposable {
  getManifest(repository: string, reference: string, accept: readonly string[]): Promise<RegistryManifest>;
  getBlob(repository: string, digest: string, options?: GetBlobOptions): Promise<RegistryBlob>;
}

/** The client for pulling `ref`: mirrors first, through the cache when one is given. */
export function pullClient(ref: RegistryReference, options: PullClientOptions): PullClient {
  const { cache, pull = "missing" } = options;
  const endpoints = pull === "never"
    ? [{ host: ref.registry, repository: ref.repository, insecure: false, mirror: false }]
    : pullEndpoints(ref.registry, ref.repository, ref.digest !== undefined, options.mirrors);
  const mirrored = new MirroredRegistry(endpoints, options, (message) => options.onWarning?.(message));
  const dispose = () => mirrored.close();
  if (!cache) {
    return {
      getManifest: (_repository, reference, accept) => mirrored.getManifest(reference, accept),
      getBlob: (_repository, digest, blobOptions) => mirrored.getBlob(digest, blobOptions),
      [Symbol.dispose]: dispose,
    };
  }
  const registrySource = new RegistrySource(mirrored, ref);
  const source = cachingSource(registrySource, cache, { pull });
  const name = formatRegistryReference(ref);
  return {
    async getManifest(_repository, reference, accept) {
      let digest = reference;
      let mediaType = "";
      if (!reference.includes(":")) {
        // A tag: asked of the registry (a moved tag is noticed), or under never the digest last recorded.
        const resolved = await resolveWithCache(cache, name, pull, async () => {
          // A HEAD first: the manifest is likely cached, and Docker Hub counts GETs as pulls (registry_source.ts).
          const head = await mirrored.headManifest(reference, accept);
          if (head) return head;
          const got = await mirrored.getManifest(reference, accept);
          registrySource.remember(got.digest, got.bytes);
          return { digest: got.digest, mediaType: got.mediaType };
        });
        digest = resolved.digest;
        mediaType = resolved.mediaType;
      }
      const bytes = await source.manifest({ digest, mediaType }, "manifest");
      // The caller checks what it reads; the document names its own type (an OCI or Docker one always does).
      checkBytes(bytes, digest, name);
      const own = documentType(bytes);
      return { digest, bytes, mediaType: own || mediaType };
    },
    async getBlob(_repository, digest, blobOptions = {}) {
      const descriptor = blobOptions.size === undefined ? { digest } : { digest, size: blobOptions.size };
      const blob = source.blob(descriptor, "blob");
      const stream = await blob.open();
      const size = blobOptions.size ?? blob.local?.size;
      return { stream: verified(stream, digest, size, `blob ${digest} of ${name}`), size, offset: 0 };
    },
    [Symbol.dispose]: dispose,
  };
}

/** The `mediaType` a JSON document names, or "". */
function documentType(bytes: Uint8Array): string {
  try {
    const doc = JSON.parse(new TextDecoder().decode(bytes)) as { mediaType?: unknown };
    return typeof doc.mediaType === "string" ? doc.mediaType : "";
  } catch {
    return "";
  }
}

function checkBytes(bytes: Uint8Array, digest: string, name: string): void {
  const hasher = new Hasher(parseDigest(digest, name).algorithm);
  hasher.update(bytes);
  const actual = hasher.digest();
  if (actual !== digest) {
    throw new DigestMismatchError(
      "manifest",
      digest,
      actual,
      `Cannot read manifest ${shortDigest(digest)} of ${name}: its digest is ${actual}`,
      "Run again with --pull=always to fetch it afresh",
    );
  }
}

/** The stream, erroring at its end unless its bytes have `digest` (and `size`, when known). */
function verified(
  stream: ReadableStream<Uint8Array>,
  digest: string,
  size: number | undefined,
  what: string,
): ReadableStream<Uint8Array> {
  const hasher = new Hasher(parseDigest(digest, what).algorithm);
  let bytes = 0;
  const hint = "The registry or the cache holds other bytes; run again with --pull=always";
  return stream.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        hasher.update(chunk);
        bytes += chunk.length;
        controller.enqueue(chunk);
      },
      flush() {
        if (size !== undefined && bytes !== size) {
          throw new DigestMismatchError(
            what,
            `${size} bytes`,
            `${bytes} bytes`,
            `Cannot read ${what}: it has ${bytes} bytes, not ${size}`,
            hint,
          );
        }
        const actual = hasher.digest();
        if (actual !== digest) {
          throw new DigestMismatchError(what, digest, actual, `Cannot read ${what}: its digest is ${actual}`, hint);
        }
      },
    }),
  );
}
