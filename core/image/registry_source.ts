/**
 * A registry (`docker://HOST/NAME[:TAG][@DIGEST]`) as an {@linkcode ImageSource}: manifests by digest and blobs as
 * streams from {@linkcode RegistryClient}. Selecting the image and checking every document is shared
 * (select_image.ts); layers are hashed and decompressed by their reader as the bytes arrive from the socket, with no
 * copy on disk, and the next layer's transfer starts while one is written (prefetch.ts). Nothing here opens a layer
 * before the reader opens the first: `inspect` reads the index, manifest and config only.
 *
 * @module
 */
import { shortDigest } from "../digest.ts";
import { describeError, Oci2LxcError } from "../errors.ts";
import { formatRegistryReference, manifestReference, type RegistryReference } from "../registry/reference.ts";
import type {
  GetBlobOptions,
  RegistryBlob,
  RegistryClientOptions,
  RegistryManifest,
} from "../registry/registry_client.ts";
import { MirroredRegistry, type MirrorOptions, pullEndpoints } from "../registry/mirrors.ts";
import type { BlobCache } from "../cache/blob_cache.ts";
import type { PullPolicy } from "../cache/cache_dir.ts";
import { cachingSource, resolveWithCache } from "../cache/caching_source.ts";
import { parallelLayers } from "../cache/parallel_layers.ts";
import type { Blob } from "./blob.ts";
import type { Descriptor } from "./descriptor.ts";
import { parseJson } from "./documents.ts";
import type { Image, ImageDocument } from "./image.ts";
import type { ImageSource } from "./image_source.ts";
import type { Platform } from "./platform.ts";
import { prefetchLayers } from "./prefetch.ts";
import { INDEX_TYPES, requireDescriptors, selectImage } from "./select_image.ts";

/** The manifest media types we read, sent as `Accept`. */
export const MANIFEST_ACCEPT: readonly string[] = [
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.docker.distribution.manifest.v2+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
];

/**
 * The pull side of one repository: {@linkcode MirroredRegistry} (the mirrors, then the registry), or any client bound
 * to a repository the same way.
 */
export interface RepositoryPuller {
  getManifest(reference: string, accept: readonly string[]): Promise<RegistryManifest>;
  getBlob(digest: string, options?: GetBlobOptions): Promise<RegistryBlob>;
}

/** One repository of a registry. */
export class RegistrySource implements ImageSource {
  readonly description: string;
  readonly #client: RepositoryPuller;
  readonly #reference: RegistryReference;
  /** `HOST/REPOSITORY`, for messages. */
  readonly #name: string;
  /** Manifests already fetched (the top one), by digest, so none is fetched twice. */
  readonly #manifests = new Map<string, Uint8Array>();

  constructor(client: RepositoryPuller, reference: RegistryReference) {
    this.#client = client;
    this.#reference = reference;
    this.#name = `${reference.registry}/${reference.repository}`;
    this.description = `registry ${reference.registry} (${reference.repository})`;
  }

  /** Remember a manifest's bytes, fetched by tag, under the digest they have. */
  remember(digest: string, bytes: Uint8Array): void {
    this.#manifests.set(digest, bytes);
  }

  async manifest(descriptor: Descriptor, _what: string): Promise<Uint8Array> {
    const known = this.#manifests.get(descriptor.digest);
    if (known) return known;
    return (await this.#client.getManifest(descriptor.digest, MANIFEST_ACCEPT)).bytes;
  }

  blob(descriptor: Descriptor, what: string): Blob {
    const name = `${what} ${descriptor.digest} in ${this.#name}`;
    const action = `read ${what} ${shortDigest(descriptor.digest)} of ${this.#name}`;
    return {
      name,
      digest: descriptor.digest,
      size: descriptor.size,
      mediaType: descriptor.mediaType ?? "",
      local: undefined,
      // The reader hashes the bytes itself (digest, size, diff_id in one pass): the client need not hash them too.
      open: async () => {
        const got = await this.#client.getBlob(descriptor.digest, {
          verify: false,
          ...(descriptor.size === undefined ? {} : { size: descriptor.size }),
        });
        return namedFailures(got.stream, action);
      },
    };
  }
}

/**
 * The stream with its failures named: a transfer that breaks off becomes one "registry" error that says which blob of
 * which repository, after how many bytes.
 */
function namedFailures(stream: ReadableStream<Uint8Array>, action: string): ReadableStream<Uint8Array> {
  const reader = stream.getReader();
  let bytes = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      let result: ReadableStreamReadResult<Uint8Array>;
      try {
        result = await reader.read();
      } catch (err) {
        controller.error(
          err instanceof Oci2LxcError ? err : new Oci2LxcError(
            "registry",
            `Cannot ${action}: the transfer broke off after ${bytes} bytes (${describeError(err)})`,
            { cause: err, hint: "Check the network and the registry, then run again" },
          ),
        );
        return;
      }
      if (result.done) {
        controller.close();
        return;
      }
      bytes += result.value.length;
      controller.enqueue(result.value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
}

/** Options for {@linkcode openRegistryImage}. */
export interface OpenRegistryOptions extends RegistryClientOptions {
  /** The platform to select. */
  platform: Platform;
  /** The blob cache to read through (cachingSource); none by default (every blob streams from the registry). */
  cache?: BlobCache | undefined;
  /** `--pull`, with a cache: default `missing`. */
  pull?: PullPolicy | undefined;
  /** `--registry-mirror` and `--registries-conf`. */
  mirrors?: MirrorOptions | undefined;
  /** `--max-parallel`, with a cache: how many layers download at once (default 4). */
  maxParallel?: number | undefined;
  /** Told when a mirror fails and the next endpoint serves instead. */
  onWarning?: ((message: string) => void) | undefined;
  /** With a cache: the bytes of layer `position` (from 0) downloaded ahead of the writer so far. */
  onDownload?: ((position: number, bytes: number) => void) | undefined;
  /** Told once per layer when the image is open: its digest, size, and whether the cache holds it already. */
  onLayer?: ((position: number, facts: RegistryLayerFacts) => void) | undefined;
}

/** What {@linkcode OpenRegistryOptions.onLayer} is told of a layer before any of it is read. */
export interface RegistryLayerFacts {
  digest: string | undefined;
  size: number | undefined;
  /** `cache`: read from the blob cache, nothing to download; `registry`: downloaded. */
  origin: "registry" | "cache";
}

/** Layers downloading at once by default (`--max-parallel`). */
export const DEFAULT_MAX_PARALLEL = 4;

/**
 * Open the image `reference` names: resolve it (the registry is asked even with a cache, so a moved tag is noticed;
 * under `--pull=never` the digest last recorded in the cache), fetch its manifest (checked against that digest), follow
 * an index to the platform's manifest, read the config. With a cache, blobs come from it when there and go into it
 * when fetched, up to `maxParallel` layers at once; without, the next layer's transfer starts while one is written.
 * `close()` releases the connections.
 *
 * @throws {Oci2LxcError} code "registry" when the registry cannot be reached, refuses us or lacks the image; the other
 *   codes as for every source
 */
export async function openRegistryImage(reference: RegistryReference, options: OpenRegistryOptions): Promise<Image> {
  const { cache, pull = "missing" } = options;
  const endpoints = pull === "never"
    ? [{ host: reference.registry, repository: reference.repository, insecure: false, mirror: false }]
    : pullEndpoints(reference.registry, reference.repository, reference.digest !== undefined, options.mirrors);
  const client = new MirroredRegistry(endpoints, options, (message) => options.onWarning?.(message));
  const closers: (() => void)[] = [() => client.close()];
  const close = () => {
    for (const c of closers.splice(0).reverse()) c();
  };
  try {
    const registrySource = new RegistrySource(client, reference);
    const source = cache ? cachingSource(registrySource, cache, { pull }) : registrySource;
    const name = formatRegistryReference(reference);
    let fetched: RegistryManifest | undefined;
    const resolveRemote = async () => {
      // With a cache the manifest is likely there: a HEAD says which one the tag names (no pull counted by Docker Hub),
      // and its bytes then come from the cache, or by digest (checked). Without, one GET does both.
      const head = cache && await client.headManifest(manifestReference(reference), MANIFEST_ACCEPT);
      if (head) return head;
      fetched = await client.getManifest(manifestReference(reference), MANIFEST_ACCEPT);
      registrySource.remember(fetched.digest, fetched.bytes);
      return { digest: fetched.digest, mediaType: fetched.mediaType };
    };
    const resolved = cache ? await resolveWithCache(cache, name, pull, resolveRemote) : await resolveRemote();
    // Through the cache: stored there (so --pull=never finds it), or read from it under never.
    const bytes = cache
      ? await source.manifest({ digest: resolved.digest, mediaType: resolved.mediaType }, "manifest")
      : fetched!.bytes;
    // The document's own mediaType wins over the header's (as a GET reads it), when it states one.
    let stated: unknown;
    try {
      stated = (JSON.parse(new TextDecoder().decode(bytes)) as { mediaType?: unknown } | null)?.mediaType;
    } catch {
      stated = undefined; // not JSON: selectImage says so, in its words
    }
    const mediaType = typeof stated === "string" && stated !== "" ? stated : resolved.mediaType;
    const top = { digest: resolved.digest, mediaType, bytes };
    const selectOptions = {
      reference: reference.text,
      transport: "docker",
      refName: reference.tag,
      platform: options.platform,
    };
    let image: Omit<Image, "close">;
    if (INDEX_TYPES.has(top.mediaType)) {
      const value = parseJson<Record<string, unknown>>(top.bytes, `index ${top.digest} of ${name}`);
      const index: ImageDocument<Record<string, unknown>> = {
        digest: top.digest,
        size: top.bytes.length,
        mediaType: top.mediaType,
        value,
      };
      const list = requireDescriptors(value.manifests as Descriptor[] | undefined, `index ${top.digest} of ${name}`);
      image = await selectImage(source, list, { ...selectOptions, index });
    } else {
      const descriptor = { mediaType: top.mediaType, digest: top.digest, size: top.bytes.length };
      image = await selectImage(source, [descriptor], selectOptions);
    }
    // With a cache, layers download in parallel into it (the cache file is what the writer is not ready for yet);
    // without, the next layer's transfer starts while one is written (bounded: prefetch.ts).
    const ahead = cache
      ? parallelLayers(image.layers, options.maxParallel ?? DEFAULT_MAX_PARALLEL, options.onDownload)
      : prefetchLayers(image.layers);
    closers.push(() => ahead.cancel());
    for (const [position, layer] of image.layers.entries()) {
      const { digest, size, local } = layer.blob;
      options.onLayer?.(position, { digest, size, origin: local ? "cache" : "registry" });
    }
    return { ...image, layers: ahead.layers, close };
  } catch (err) {
    close();
    throw err;
  }
}
