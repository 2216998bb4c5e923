/**
 * Read every manifest and blob of an image through an {@linkcode ImageSource} (following an index to all of its
 * manifests), each stream to its end; the digests of the manifests and of the blobs read, in order. `slow` yields a moment between chunks, so two
 * processes reading the same image overlap.
 */
import type { Descriptor } from "../../core/image/descriptor.ts";
import type { ImageSource } from "../../core/image/image_source.ts";

export async function readImage(
  source: ImageSource,
  top: readonly Descriptor[],
  options: { slow?: boolean } = {},
): Promise<{ manifests: string[]; blobs: string[] }> {
  const manifests: string[] = [];
  const blobs: string[] = [];
  const seen = new Set<string>();
  const visit = async (descriptor: Descriptor, depth: number): Promise<void> => {
    if (seen.has(descriptor.digest) || depth > 3) return;
    seen.add(descriptor.digest);
    const bytes = await source.manifest(descriptor, "manifest");
    manifests.push(descriptor.digest);
    const doc = JSON.parse(new TextDecoder().decode(bytes)) as {
      manifests?: Descriptor[];
      config?: Descriptor;
      layers?: Descriptor[];
    };
    for (const child of doc.manifests ?? []) await visit(child, depth + 1);
    for (const [i, blob] of [doc.config, ...(doc.layers ?? [])].entries()) {
      if (!blob || seen.has(blob.digest)) continue;
      seen.add(blob.digest);
      const stream = await source.blob(blob, i === 0 ? "config" : `layer ${i}`).open();
      for await (const _ of stream) {
        if (options.slow) await new Promise((r) => setTimeout(r, 1));
      }
      blobs.push(blob.digest);
    }
  };
  for (const descriptor of top) await visit(descriptor, 0);
  return { manifests, blobs };
}
