/**
 * Choosing the image among the manifests a source offers, the same for every source: follow (nested) indexes, rank the
 * manifests by platform, read the chosen manifest and its config (each verified against its digest) and pair its layers
 * with the config's diff_ids.
 *
 * @module
 */
import { Oci2LxcError } from "../errors.ts";
import { compressionOf } from "../layer/decompress.ts";
import type { Descriptor } from "./descriptor.ts";
import { readDocument } from "./documents.ts";
import type { Image, ImageConfig, ImageDocument, ImageLayer } from "./image.ts";
import type { ImageSource } from "./image_source.ts";
import { formatPlatform, type Platform, platformMatches, platformScore } from "./platform.ts";

export const INDEX_TYPES: ReadonlySet<string> = new Set([
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
]);
export const MANIFEST_TYPES: ReadonlySet<string> = new Set([
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.v2+json",
]);
/** The annotation that names a manifest in an index (a tag). */
export const REF_NAME = "org.opencontainers.image.ref.name";
const MAX_INDEX_DEPTH = 4;

/** How to choose the image. */
export interface SelectOptions {
  /** The user's reference text, for the report. */
  reference: string;
  transport: string;
  /** Ref name (tag) or digest that picked the top descriptors, if any. */
  refName: string | undefined;
  /** The platform wanted (the host's unless `--platform` was given). */
  platform: Platform;
  /** The index that lists `top`, when it is a verified document (a registry's index; not a layout's index.json). */
  index?: ImageDocument<Record<string, unknown>> | undefined;
  /** Findings so far (e.g. a layout without its oci-layout file); more are added. */
  warnings?: string[] | undefined;
}

/** A manifest reached from the top descriptors, with the platform and ref that lead to it. */
interface Candidate {
  descriptor: Descriptor;
  platform: Platform | undefined;
  refName: string | undefined;
  index: ImageDocument<Record<string, unknown>> | undefined;
}

/**
 * Select the image for `options.platform` among `top` (index or manifest descriptors) of `source`. A registry
 * reference to a single manifest passes that manifest's descriptor alone.
 */
export async function selectImage(
  source: ImageSource,
  top: readonly Descriptor[],
  options: SelectOptions,
): Promise<Omit<Image, "close">> {
  const where = source.description;
  const warnings = options.warnings ?? [];
  const candidates: Candidate[] = [];
  for (const d of top) {
    await collect(source, d, d.annotations?.[REF_NAME], options.index, 0, candidates, warnings);
  }
  if (candidates.length === 0) {
    throw new Oci2LxcError("image", `Cannot open ${where}: it lists no image manifest`);
  }
  const refs = new Set(candidates.map((c) => c.refName ?? c.descriptor.digest));
  if (options.refName === undefined && new Set(candidates.map((c) => c.refName)).size > 1 && refs.size > 1) {
    throw new Oci2LxcError(
      "image",
      `Cannot choose an image in ${where}: it holds several (${[...refs].map((r) => `"${r}"`).join(", ")})`,
      { hint: "Name one after the path, e.g. oci-archive:FILE:NAME" },
    );
  }
  const offered = candidates.map((c) => c.platform).filter((p): p is Platform => p !== undefined);
  const ranked = candidates
    .map((c) => ({ c, score: c.platform ? platformScore(options.platform, c.platform) : 0 }))
    .filter((r) => r.score >= 0)
    .sort((a, b) => b.score - a.score);
  const best = ranked[0];
  if (!best) throw noPlatform(options.platform, offered, where);
  const pick = best.c;

  const manifest = await readDocument<Record<string, unknown>>(source, pick.descriptor, "manifest", "manifest");
  const manifestType = (manifest.value.mediaType as string | undefined) ?? pick.descriptor.mediaType ?? "";
  if (manifestType && !MANIFEST_TYPES.has(manifestType)) {
    throw new Oci2LxcError(
      "image",
      `Cannot read manifest ${pick.descriptor.digest}: unsupported media type ${manifestType}`,
    );
  }
  const configDescriptor = manifest.value.config as Descriptor | undefined;
  if (!configDescriptor || typeof configDescriptor.digest !== "string") {
    throw new Oci2LxcError("image", `Cannot read manifest ${pick.descriptor.digest}: it has no config descriptor`);
  }
  const config = await readDocument<ImageConfig>(source, configDescriptor, "config", "blob");
  const platform = configPlatform(config.value, pick.platform);
  if (!pick.platform && !platformMatches(options.platform, platform)) {
    throw noPlatform(options.platform, [platform], where);
  }
  const layers = pairLayers(source, manifest, config);
  return {
    reference: options.reference,
    transport: options.transport,
    refName: pick.refName ?? options.refName,
    platforms: offered.length > 0 ? offered : [platform],
    platform,
    manifest: { ...manifest, mediaType: manifestType },
    index: pick.index,
    config: { ...config, mediaType: configDescriptor.mediaType ?? "" },
    layers,
    warnings,
  };
}

async function collect(
  source: ImageSource,
  d: Descriptor,
  refName: string | undefined,
  index: ImageDocument<Record<string, unknown>> | undefined,
  depth: number,
  out: Candidate[],
  warnings: string[],
): Promise<void> {
  if (d.annotations?.["vnd.docker.reference.type"] === "attestation-manifest") return;
  if (d.platform?.os === "unknown" || d.platform?.architecture === "unknown") return;
  const type = d.mediaType ?? "";
  if (INDEX_TYPES.has(type)) {
    if (depth >= MAX_INDEX_DEPTH) {
      throw new Oci2LxcError("image", `Cannot follow index ${d.digest}: indexes nest deeper than ${MAX_INDEX_DEPTH}`);
    }
    const nested = await readDocument<Record<string, unknown>>(source, d, "index", "manifest");
    const list = requireDescriptors(nested.value.manifests as Descriptor[] | undefined, `index ${d.digest}`);
    for (const child of list) {
      await collect(source, child, refName ?? child.annotations?.[REF_NAME], nested, depth + 1, out, warnings);
    }
    return;
  }
  if (type && !MANIFEST_TYPES.has(type)) {
    warnings.push(`skipped ${d.digest}: media type ${type} is not an image manifest`);
    return;
  }
  const p = d.platform;
  const platform = p?.os && p.architecture ? { os: p.os, architecture: p.architecture, variant: p.variant } : undefined;
  out.push({ descriptor: d, platform, refName, index });
}

/** Check that `list` is a list of descriptors with digests; `what` names the document. */
export function requireDescriptors(list: Descriptor[] | undefined, what: string): Descriptor[] {
  if (!Array.isArray(list)) throw new Oci2LxcError("image", `Cannot read ${what}: "manifests" is not a list`);
  for (const d of list) {
    if (!d || typeof d.digest !== "string") {
      throw new Oci2LxcError("image", `Cannot read ${what}: a manifest entry has no digest`);
    }
  }
  return list;
}

function configPlatform(config: ImageConfig, fallback: Platform | undefined): Platform {
  if (config.os && config.architecture) {
    return { os: config.os, architecture: config.architecture, variant: config.variant ?? fallback?.variant };
  }
  return fallback ?? { os: "linux", architecture: "unknown" };
}

/** The error for no image matching `wanted`, listing what `where` offers. */
export function noPlatform(wanted: Platform, offered: Platform[], where: string): Oci2LxcError {
  const list = offered.length ? offered.map(formatPlatform).join(", ") : "none";
  return new Oci2LxcError(
    "platform",
    `Cannot find an image for ${formatPlatform(wanted)} in ${where}: it offers ${list}`,
    { hint: "Pass --platform with one of the offered platforms" },
  );
}

/**
 * Pair manifest layers with `config.rootfs.diff_ids`. They are paired by position; the assembler verifies each diff_id
 * as it decompresses and re-pairs by content when an archive lists them in another order.
 */
function pairLayers(
  source: ImageSource,
  manifest: ImageDocument<Record<string, unknown>>,
  config: ImageDocument<ImageConfig>,
): ImageLayer[] {
  const layers = manifest.value.layers as Descriptor[] | undefined;
  const diffIds = config.value.rootfs?.diff_ids;
  if (!Array.isArray(layers)) {
    throw new Oci2LxcError("image", `Cannot read manifest ${manifest.digest}: "layers" is not a list`);
  }
  if (!Array.isArray(diffIds)) {
    throw new Oci2LxcError("image", `Cannot read config ${config.digest}: "rootfs.diff_ids" is not a list`);
  }
  if (layers.length !== diffIds.length) {
    throw new Oci2LxcError(
      "image",
      `Cannot pair layers of manifest ${manifest.digest}: it lists ${layers.length} layers, the config ${diffIds.length} diff_ids`,
    );
  }
  return layers.map((d, index) => {
    const mediaType = d.mediaType ?? "application/vnd.oci.image.layer.v1.tar+gzip";
    return {
      index,
      blob: source.blob({ ...d, mediaType }, `layer ${index + 1}`),
      compression: compressionOf(mediaType, `layer ${index + 1} (${d.digest})`),
      diffId: diffIds[index]!,
    };
  });
}
