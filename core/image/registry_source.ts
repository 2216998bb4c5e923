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
import { RegistryClient, type RegistryClientOptions } from "../registry/registry_client.ts";
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

/** One repository of a registry. */
export class RegistrySource implements ImageSource {
  readonly description: string;
  readonly #client: RegistryClient;
  readonly #reference: RegistryReference;
  /** `HOST/REPOSITORY`, for messages. */
  readonly #name: string;
  /** Manifests already fetched (the top one), by digest, so none is fetched twice. */
  readonly #manifests = new Map<string, Uint8Array>();

  constructor(client: RegistryClient, reference: RegistryReference) {
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
    return (await this.#client.getManifest(this.#reference.repository, descriptor.digest, MANIFEST_ACCEPT)).bytes;
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
        const got = await this.#client.getBlob(this.#reference.repository, descriptor.digest, {
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
}

/**
 * Open the image `reference` names: fetch its manifest (by digest when it names one: then checked), follow an index to
 * the platform's manifest, read the config. `close()` releases the connections.
 *
 * @throws {Oci2LxcError} code "registry" when the registry cannot be reached, refuses us or lacks the image; the other
 *   codes as for every source
 */
export async function openRegistryImage(reference: RegistryReference, options: OpenRegistryOptions): Promise<Image> {
  const client = new RegistryClient(reference.registry, options);
  try {
    const source = new RegistrySource(client, reference);
    const top = await client.getManifest(reference.repository, manifestReference(reference), MANIFEST_ACCEPT);
    source.remember(top.digest, top.bytes);
    const name = formatRegistryReference(reference);
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
    // While one layer is written, the next one's transfer starts (bounded: prefetch.ts).
    const ahead = prefetchLayers(image.layers);
    return {
      ...image,
      layers: ahead.layers,
      close: () => {
        ahead.cancel();
        client.close();
      },
    };
  } catch (err) {
    client.close();
    throw err;
  }
}
