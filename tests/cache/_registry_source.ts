/**
 * A test-only {@linkcode ImageSource} over the real registry's {@linkcode RegistryClient} (until the `docker://`
 * source lands): manifests by digest, blobs as the client's streams. It counts the blob streams it opened.
 */
import type { Blob } from "../../core/image/blob.ts";
import type { Descriptor } from "../../core/image/descriptor.ts";
import type { ImageSource } from "../../core/image/image_source.ts";
import type { RegistryClient } from "../../core/registry/registry_client.ts";

const ACCEPT = [
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
  "application/vnd.docker.distribution.manifest.v2+json",
];

/** The source, and the top descriptor `tag` resolves to. */
export async function registrySource(
  client: RegistryClient,
  repository: string,
  tag: string,
): Promise<{ source: ImageSource & { opened: number }; top: Descriptor }> {
  const manifest = await client.getManifest(repository, tag, ACCEPT);
  const top = { digest: manifest.digest, size: manifest.bytes.length, mediaType: manifest.mediaType };
  const source = {
    description: `registry ${client.registry} (${repository})`,
    opened: 0,
    async manifest(descriptor: Descriptor): Promise<Uint8Array> {
      return (await client.getManifest(repository, descriptor.digest, ACCEPT)).bytes;
    },
    blob(descriptor: Descriptor, what: string): Blob {
      return {
        name: `${what} ${descriptor.digest}`,
        digest: descriptor.digest,
        size: descriptor.size,
        mediaType: descriptor.mediaType ?? "",
        local: undefined,
        open: async () => {
          source.opened++;
          const options = descriptor.size === undefined ? {} : { size: descriptor.size };
          return (await client.getBlob(repository, descriptor.digest, options)).stream;
        },
      };
    },
  };
  return { source, top };
}
