/**
 * An OCI image layout (in an archive or a directory): index.json → (nested) index → manifest for the wanted platform →
 * config → layers.
 *
 * @module
 */
import { Oci2LxcError } from "../errors.ts";
import { compressionOf } from "../layer/decompress.ts";
import { blobMember, parseJson, readDocument } from "./documents.ts";
import type { Image, ImageConfig, ImageDocument, ImageLayer } from "./image.ts";
import type { MemberTable } from "./member.ts";
import { readMemberBytes } from "./range_reader.ts";
import { formatPlatform, type Platform, platformMatches, platformScore } from "./platform.ts";

/** A content descriptor as index and manifest documents hold them. */
export interface Descriptor {
  mediaType?: string;
  digest: string;
  size?: number;
  platform?: { os?: string; architecture?: string; variant?: string };
  annotations?: Record<string, string>;
}

const INDEX_TYPES = new Set([
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
]);
const MANIFEST_TYPES = new Set([
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.v2+json",
]);
const REF_NAME = "org.opencontainers.image.ref.name";
const MAX_INDEX_DEPTH = 4;

/** How to choose the image inside a layout. */
export interface SelectOptions {
  /** The user's reference text, for the report. */
  reference: string;
  transport: string;
  /** Ref name (tag) or digest that picks a manifest; undefined means the only one. */
  refName: string | undefined;
  /** The platform wanted (the host's unless `--platform` was given). */
  platform: Platform;
}

/** A manifest reached from index.json, with the platform and ref that lead to it. */
interface Candidate {
  descriptor: Descriptor;
  platform: Platform | undefined;
  refName: string | undefined;
  index: ImageDocument<Record<string, unknown>> | undefined;
}

/** Whether `members` look like an OCI image layout. */
export function isOciLayout(members: MemberTable): boolean {
  return members.get("index.json") !== undefined;
}

/** Open the image that `options` selects from an OCI layout. */
export function openOciLayout(members: MemberTable, options: SelectOptions): Omit<Image, "close"> {
  const where = members.description;
  const indexMember = members.get("index.json");
  if (!indexMember) {
    throw new Oci2LxcError("image", `Cannot open ${where}: index.json is missing`, {
      hint: "Pass an OCI layout (with index.json and blobs/) or a docker-archive",
    });
  }
  const warnings: string[] = [];
  if (!members.get("oci-layout")) warnings.push(`${where} has no oci-layout file; reading it anyway`);
  const topIndex = parseJson<{ manifests?: Descriptor[] }>(readMemberBytes(indexMember), `index.json in ${where}`);
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
  const candidates: Candidate[] = [];
  for (const d of chosen) collect(members, d, d.annotations?.[REF_NAME], undefined, 0, candidates, warnings);
  if (candidates.length === 0) {
    throw new Oci2LxcError("image", `Cannot open ${where}: index.json lists no image manifest`);
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

  const manifest = readDocument<Record<string, unknown>>(members, pick.descriptor, "manifest");
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
  const config = readDocument<ImageConfig>(members, configDescriptor, "config");
  const platform = configPlatform(config.value, pick.platform);
  if (!pick.platform && !platformMatches(options.platform, platform)) {
    throw noPlatform(options.platform, [platform], where);
  }
  const layers = pairLayers(members, manifest, config, warnings);
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

function collect(
  members: MemberTable,
  d: Descriptor,
  refName: string | undefined,
  index: ImageDocument<Record<string, unknown>> | undefined,
  depth: number,
  out: Candidate[],
  warnings: string[],
): void {
  if (d.annotations?.["vnd.docker.reference.type"] === "attestation-manifest") return;
  if (d.platform?.os === "unknown" || d.platform?.architecture === "unknown") return;
  const type = d.mediaType ?? "";
  if (INDEX_TYPES.has(type)) {
    if (depth >= MAX_INDEX_DEPTH) {
      throw new Oci2LxcError("image", `Cannot follow index ${d.digest}: indexes nest deeper than ${MAX_INDEX_DEPTH}`);
    }
    const nested = readDocument<Record<string, unknown>>(members, d, "index");
    const list = requireDescriptors(nested.value.manifests as Descriptor[] | undefined, `index ${d.digest}`);
    for (const child of list) {
      collect(members, child, refName ?? child.annotations?.[REF_NAME], nested, depth + 1, out, warnings);
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

function matchesRef(d: Descriptor, ref: string): boolean {
  if (d.digest === ref) return true;
  const name = d.annotations?.[REF_NAME];
  const full = d.annotations?.["io.containerd.image.name"];
  return name === ref || full === ref || (full?.endsWith(`:${ref}`) ?? false);
}

function requireDescriptors(list: Descriptor[] | undefined, what: string): Descriptor[] {
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

function noPlatform(wanted: Platform, offered: Platform[], where: string): Oci2LxcError {
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
  members: MemberTable,
  manifest: ImageDocument<Record<string, unknown>>,
  config: ImageDocument<ImageConfig>,
  _warnings: string[],
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
      digest: d.digest,
      size: d.size,
      mediaType,
      compression: compressionOf(mediaType, `layer ${index + 1} (${d.digest})`),
      diffId: diffIds[index]!,
      member: blobMember(members, d.digest, `layer ${index + 1}`),
    };
  });
}
