/**
 * An OCI image layout (in an archive or a directory): index.json, filtered by the ref name the reference gives, then the
 * shared selection (select_image.ts) through the layout's blobs.
 *
 * @module
 */
import { Oci2LxcError } from "../errors.ts";
import { readBlobBytes } from "./blob_reader.ts";
import type { Descriptor } from "./descriptor.ts";
import { parseJson } from "./documents.ts";
import type { Image } from "./image.ts";
import { LayoutSource } from "./layout_source.ts";
import { localBlob } from "./local_blob.ts";
import type { MemberTable } from "./member.ts";
import type { Platform } from "./platform.ts";
import { REF_NAME, requireDescriptors, selectImage } from "./select_image.ts";

/** How to choose the image inside a layout. */
export interface LayoutOptions {
  /** The user's reference text, for the report. */
  reference: string;
  transport: string;
  /** Ref name (tag) or digest that picks a manifest; undefined means the only one. */
  refName: string | undefined;
  /** The platform wanted (the host's unless `--platform` was given). */
  platform: Platform;
}

/** Whether `members` look like an OCI image layout. */
export function isOciLayout(members: MemberTable): boolean {
  return members.get("index.json") !== undefined;
}

/** Open the image that `options` selects from an OCI layout. */
export async function openOciLayout(members: MemberTable, options: LayoutOptions): Promise<Omit<Image, "close">> {
  const where = members.description;
  const indexMember = members.get("index.json");
  if (!indexMember) {
    throw new Oci2LxcError("image", `Cannot open ${where}: index.json is missing`, {
      hint: "Pass an OCI layout (with index.json and blobs/) or a docker-archive",
    });
  }
  const warnings: string[] = [];
  if (!members.get("oci-layout")) warnings.push(`${where} has no oci-layout file; reading it anyway`);
  // index.json has no digest to check: it is the layout's root, as a tag is a registry's.
  const topIndex = parseJson<{ manifests?: Descriptor[] }>(
    await readBlobBytes(localBlob(indexMember, {})),
    `index.json in ${where}`,
  );
  const top = requireDescriptors(topIndex.manifests, `index.json in ${where}`);

  let chosen = top;
  if (options.refName !== undefined) {
    chosen = top.filter((d) => matchesRef(d, options.refName!));
    if (chosen.length === 0) {
      const refs = top.map((d) => d.annotations?.[REF_NAME] ?? d.digest);
      throw new Oci2LxcError(
        "image",
        `Cannot find image "${options.refName}" in ${where}: it holds ${refs.map((r) => `"${r}"`).join(", ")}`,
        { hint: "Name one of those after the path, e.g. oci-archive:FILE:latest" },
      );
    }
  }
  if (chosen.length === 0) throw new Oci2LxcError("image", `Cannot open ${where}: index.json lists no image manifest`);
  return await selectImage(new LayoutSource(members), chosen, { ...options, warnings });
}

function matchesRef(d: Descriptor, ref: string): boolean {
  if (d.digest === ref) return true;
  const name = d.annotations?.[REF_NAME];
  const full = d.annotations?.["io.containerd.image.name"];
  return name === ref || full === ref || (full?.endsWith(`:${ref}`) ?? false);
}
