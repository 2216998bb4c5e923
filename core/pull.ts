/**
 * `pull`: a verified copy of a registry image into an OCI layout (`oci-archive:FILE[:REF]` or `oci:DIR[:REF]`), the
 * copy `skopeo copy docker://… oci-archive:…` makes, which skopeo, podman, umoci and Proxmox VE 9.1 read. Manifests
 * and blobs are kept byte for byte (their digests are the registry's), every one checked against its digest and size
 * as it streams to the target; nothing shows at the target until all of it is there (core/oci_layout_writer.ts).
 *
 * From an index, the manifest for the platform (the host's by default) is copied and `index.json` points at it, as
 * skopeo does without `--all`; with `all`, the index and every manifest it lists (nested ones too) are copied.
 *
 * @module
 */
import { describeError, DigestMismatchError, isInterruption, Oci2LxcError, quoteForMessage } from "./errors.ts";
import { formatPlatform, hostPlatform, parsePlatform, type Platform, platformScore } from "./image/platform.ts";
import { type IndexEntry, type OciLayoutWriter, openLayoutWriter } from "./oci_layout_writer.ts";
import { checkArchiveTarget, type PullReplaceOptions } from "./pull_target_guard.ts";
import { parseReference } from "./reference.ts";
import { cleanStaleTagged } from "./rootfs/stale_leftovers.ts";
import { basename, dirname, join } from "node:path";
import {
  formatRegistryReference,
  manifestReference,
  parseRegistryReference,
  type RegistryReference,
} from "./registry/reference.ts";
import { type PullClient, pullClient, type PullClientOptions } from "./cache/pull_client.ts";
import { MANIFEST_ACCEPT } from "./image/registry_source.ts";
import { INDEX_TYPES, MANIFEST_TYPES, REF_NAME } from "./image/select_image.ts";
import { Hasher, shortDigest } from "./digest.ts";

const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX = "application/vnd.oci.image.index.v1+json";
const DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
const DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json";
/** Indexes nest at most this deep (as the archive reader allows). */
const MAX_INDEX_DEPTH = 4;

/** Options for {@linkcode pull}. */
export interface PullOptions extends PullClientOptions, PullReplaceOptions {
  /** `os/arch[/variant]` or a Platform; the host's by default. Ignored with `all`. */
  platform?: string | Platform | undefined;
  /** Copy the whole index and every image it lists (skopeo's `--all`). */
  all?: boolean | undefined;
  /** Receives findings worth telling the user: a killed pull's leftovers that were removed. */
  onWarning?: ((message: string) => void) | undefined;
  /** Called after each blob is in place. */
  onBlob?: ((blob: { digest: string; size: number; what: string }) => void) | undefined;
}

/** What a pull copied. */
export interface PullResult {
  /** The registry reference, normalised (`docker.io/library/busybox:latest`). */
  reference: string;
  /** The target as written (`oci-archive:busybox.tar:latest`). */
  target: string;
  /** The ref name given to the image in `index.json`, if any. */
  refName: string | undefined;
  /** The digest and media type of what `index.json` lists: the chosen manifest, or the index with `all`. */
  digest: string;
  mediaType: string;
  /** The platforms copied. */
  platforms: string[];
  /** Blobs (manifests, configs, layers) written, and their bytes; blobs an existing layout had already are skipped. */
  blobs: number;
  bytes: number;
}

/** A parsed pull target. */
export interface PullTarget {
  transport: "oci-archive" | "oci";
  path: string;
  ref: string | undefined;
}

/**
 * Parse `oci-archive:FILE[:REF]` or `oci:DIR[:REF]` (a path that exists is taken whole, else the part before the first
 * `:` that exists, else before the first `:`; as for images).
 *
 * @throws {Oci2LxcError} code "usage" for any other transport
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parsePullTarget } from "./pull.ts";
 * assert.deepEqual(parsePullTarget("oci-archive:/no/such/dir/app.tar:1.2"), {
 *   transport: "oci-archive",
 *   path: "/no/such/dir/app.tar",
 *   ref: "1.2",
 * });
 * ```
 */
export function parsePullTarget(text: string): PullTarget {
  const usage = (reason: string) =>
    new Oci2LxcError("usage", `Cannot use target ${quoteForMessage(text)}: ${reason}`, {
      hint: "Write oci-archive:FILE[:REF] (a tar) or oci:DIR[:REF] (a layout directory)",
    });
  if (!text.startsWith("oci-archive:") && !text.startsWith("oci:")) throw usage("pull writes oci-archive: or oci:");
  const parsed = parseReference(text);
  if (parsed.transport !== "oci-archive" && parsed.transport !== "oci") throw usage("pull writes oci-archive: or oci:");
  if (parsed.ref !== undefined && !/^[A-Za-z0-9](?:[A-Za-z0-9._\-:/@+]*[A-Za-z0-9])?$/.test(parsed.ref)) {
    throw usage(`the ref name ${quoteForMessage(parsed.ref)} is not one (letters, digits and ._-:/@+)`);
  }
  return { transport: parsed.transport, path: parsed.path, ref: parsed.ref };
}

interface Descriptor {
  mediaType?: string;
  digest: string;
  size?: number;
  platform?: { os?: string; architecture?: string; variant?: string };
  annotations?: Record<string, string>;
}

/** Parse a manifest's or index's JSON; `what` names it. */
function parseJson(bytes: Uint8Array, what: string): Record<string, unknown> {
  try {
    const value = JSON.parse(new TextDecoder().decode(bytes));
    if (typeof value === "object" && value !== null && !Array.isArray(value)) return value;
  } catch {
    // reported below
  }
  throw new Oci2LxcError("image", `Cannot read ${what}: it is not a JSON object`, {
    hint: "The registry holds a damaged image; push it again",
  });
}

function descriptors(list: unknown, what: string): Descriptor[] {
  if (!Array.isArray(list)) throw new Oci2LxcError("image", `Cannot read ${what}: it lists no descriptors`);
  for (const d of list) {
    if (typeof d?.digest !== "string" || (d.size !== undefined && typeof d.size !== "number")) {
      throw new Oci2LxcError("image", `Cannot read ${what}: an entry has no digest`);
    }
  }
  return list as Descriptor[];
}

/** One pull in progress: the client, the writer, what was copied. */
class Puller {
  readonly ref: RegistryReference;
  readonly name: string;
  readonly client: PullClient;
  readonly writer: OciLayoutWriter;
  readonly options: PullOptions;
  blobs = 0;
  bytes = 0;
  readonly platforms: string[] = [];

  constructor(ref: RegistryReference, client: PullClient, writer: OciLayoutWriter, options: PullOptions) {
    this.ref = ref;
    this.name = `${ref.registry}/${ref.repository}`;
    this.client = client;
    this.writer = writer;
    this.options = options;
  }

  /** Fetch a manifest or index by digest (checked by the client) and check its size; not copied yet. */
  async manifest(d: Descriptor, what: string): Promise<{ mediaType: string; bytes: Uint8Array }> {
    const got = await this.client.getManifest(this.ref.repository, d.digest, MANIFEST_ACCEPT);
    if (d.size !== undefined && got.bytes.length !== d.size) {
      throw new DigestMismatchError(
        what,
        `${d.size} bytes`,
        `${got.bytes.length} bytes`,
        `Cannot read ${what} ${
          shortDigest(d.digest)
        } of ${this.name}: it has ${got.bytes.length} bytes, the index says ${d.size}`,
        "The image in the registry is inconsistent; push it again",
      );
    }
    return got;
  }

  /** Write a document (manifest, index, config) given as bytes, under its sha256 or the digest it was checked by. */
  async copyBytes(digest: string, bytes: Uint8Array, what: string): Promise<void> {
    if (this.writer.has(digest)) return;
    await this.writer.addBytes(digest, bytes);
    this.#count(digest, bytes.length, what);
  }

  /** Write a document we made (a manifest converted to OCI): its descriptor. */
  async copyNew(doc: Record<string, unknown>, mediaType: string, what: string): Promise<Copied> {
    const bytes = new TextEncoder().encode(JSON.stringify(doc));
    const hasher = new Hasher("sha256");
    hasher.update(bytes);
    const digest = hasher.digest();
    await this.copyBytes(digest, bytes, what);
    return { mediaType, digest, size: bytes.length };
  }

  #count(digest: string, size: number, what: string): void {
    this.blobs++;
    this.bytes += size;
    this.options.onBlob?.({ digest, size, what });
  }

  /** Copy a config or layer, checked while it streams. */
  async blob(d: Descriptor, what: string): Promise<void> {
    if (this.writer.has(d.digest)) return;
    const action = `read ${what} ${shortDigest(d.digest)} of ${this.name}`;
    const got = await this.client.getBlob(this.ref.repository, d.digest, d.size === undefined ? {} : { size: d.size });
    const size = d.size ?? got.size;
    if (size === undefined) {
      await got.stream.cancel();
      throw new Oci2LxcError("image", `Cannot ${action}: neither the manifest nor the registry gives its size`, {
        hint: "The image in the registry is incomplete; push it again",
      });
    }
    try {
      await this.writer.addBlob(d.digest, size, got.stream);
    } catch (err) {
      throw this.#streamError(err, action);
    }
    this.#count(d.digest, size, what);
  }

  /** A blob stream's failure as one clear error: a mismatch or our own error as it is, a broken connection named. */
  #streamError(err: unknown, action: string): unknown {
    if (this.options.signal?.aborted) return new Oci2LxcError("interrupted", `Cannot ${action}: interrupted`);
    if (err instanceof Oci2LxcError) return err;
    return new Oci2LxcError("registry", `Cannot ${action}: the transfer broke off (${describeError(err)})`, {
      cause: err,
      hint: "Check the network and the registry, then run again",
    });
  }

  /**
   * Copy an image manifest with its config and layers. A Docker schema 2 manifest is written as the OCI manifest it
   * maps to (as skopeo does for oci: targets, whose readers list only OCI manifests), so its digest is then new.
   */
  async image(
    d: Descriptor,
    what: string,
    fetched?: { mediaType: string; bytes: Uint8Array },
  ): Promise<Copied> {
    const got = fetched ?? await this.manifest(d, what);
    const doc = parseJson(got.bytes, `${what} ${d.digest} of ${this.name}`);
    const mediaType = (typeof doc.mediaType === "string" ? doc.mediaType : "") || d.mediaType || got.mediaType;
    if (!MANIFEST_TYPES.has(mediaType)) {
      throw new Oci2LxcError("image", `Cannot read ${what} ${d.digest} of ${this.name}: media type ${mediaType}`, {
        hint: "Use an OCI or Docker schema 2 image: oci2lxc reads only those",
      });
    }
    const config = doc.config as Descriptor | undefined;
    if (typeof config?.digest !== "string") {
      throw new Oci2LxcError("image", `Cannot read ${what} ${d.digest} of ${this.name}: it has no config`);
    }
    const layers = descriptors(doc.layers, `${what} ${d.digest} of ${this.name}`);
    const configBytes = await this.configBytes(config);
    for (const [i, layer] of layers.entries()) {
      this.options.signal?.throwIfAborted();
      await this.blob(layer, `layer ${i + 1}/${layers.length}`);
    }
    const parsed = parseJson(configBytes, `config ${config.digest} of ${this.name}`);
    const platform = {
      os: String(parsed.os ?? "unknown"),
      architecture: String(parsed.architecture ?? "unknown"),
      ...(typeof parsed.variant === "string" ? { variant: parsed.variant } : {}),
    };
    if (platform.os !== "unknown") this.platforms.push(formatPlatform(platform));
    if (mediaType === DOCKER_MANIFEST) return await this.copyNew(ociManifest(doc), OCI_MANIFEST, what);
    await this.copyBytes(d.digest, got.bytes, what);
    return { mediaType, digest: d.digest, size: got.bytes.length };
  }

  /** The config, read whole (it is small, and the platform is in it), checked and copied. */
  async configBytes(d: Descriptor): Promise<Uint8Array> {
    const action = `read config ${shortDigest(d.digest)} of ${this.name}`;
    const got = await this.client.getBlob(this.ref.repository, d.digest, d.size === undefined ? {} : { size: d.size });
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await new Response(got.stream).arrayBuffer());
    } catch (err) {
      throw this.#streamError(err, action);
    }
    await this.copyBytes(d.digest, bytes, "config");
    return bytes;
  }

  /** Copy an index and everything it lists (`all`); a Docker manifest list becomes an OCI index of OCI manifests. */
  async wholeIndex(
    d: Descriptor,
    what: string,
    depth: number,
    fetched?: { mediaType: string; bytes: Uint8Array },
  ): Promise<Copied> {
    const got = fetched ?? await this.manifest(d, what);
    const doc = parseJson(got.bytes, `${what} ${d.digest}`);
    const list = descriptors(doc.manifests, `${what} ${d.digest}`);
    const copied: Descriptor[] = [];
    let changed = false;
    for (const child of list) {
      const type = child.mediaType ?? "";
      let result: Copied;
      if (INDEX_TYPES.has(type)) {
        if (depth >= MAX_INDEX_DEPTH) throw tooDeep(d.digest);
        result = await this.wholeIndex(child, "index", depth + 1);
      } else if (MANIFEST_TYPES.has(type)) result = await this.image(child, "manifest");
      else {
        // An attestation or artifact: copied as the manifest it is, with its blobs, so the index stays whole.
        const m = await this.manifest(child, "manifest");
        const inner = parseJson(m.bytes, `manifest ${child.digest}`);
        const blobs = [inner.config, ...(Array.isArray(inner.layers) ? inner.layers : [])].filter((
          b,
        ): b is Descriptor => typeof (b as Descriptor | undefined)?.digest === "string");
        for (const b of blobs) await this.blob(b, "blob");
        await this.copyBytes(child.digest, m.bytes, "manifest");
        result = { mediaType: type, digest: child.digest, size: m.bytes.length };
      }
      if (result.digest !== child.digest) changed = true;
      copied.push({ ...child, mediaType: result.mediaType, digest: result.digest, size: result.size });
    }
    const type = (typeof doc.mediaType === "string" ? doc.mediaType : "") || got.mediaType;
    if (changed || type === DOCKER_LIST) {
      return await this.copyNew({ ...doc, mediaType: OCI_INDEX, manifests: copied }, OCI_INDEX, what);
    }
    await this.copyBytes(d.digest, got.bytes, what);
    return { mediaType: type, digest: d.digest, size: got.bytes.length };
  }
}

/** A document as written: its media type, digest and size. */
interface Copied {
  mediaType: string;
  digest: string;
  size: number;
}

/** Docker schema 2 layer and config media types and their OCI names (containers/image's manifest conversion). */
const OCI_TYPES: Readonly<Record<string, string>> = {
  "application/vnd.docker.container.image.v1+json": "application/vnd.oci.image.config.v1+json",
  "application/vnd.docker.image.rootfs.diff.tar.gzip": "application/vnd.oci.image.layer.v1.tar+gzip",
  "application/vnd.docker.image.rootfs.diff.tar.zstd": "application/vnd.oci.image.layer.v1.tar+zstd",
  "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip":
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
};

/** The OCI manifest a Docker schema 2 manifest maps to: the same blobs under OCI media types. */
function ociManifest(doc: Record<string, unknown>): Record<string, unknown> {
  const map = (d: Descriptor) => ({ ...d, mediaType: OCI_TYPES[d.mediaType ?? ""] ?? d.mediaType });
  return {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: map(doc.config as Descriptor),
    layers: (doc.layers as Descriptor[]).map(map),
    ...(doc.annotations ? { annotations: doc.annotations } : {}),
  };
}

function tooDeep(digest: string): Oci2LxcError {
  return new Oci2LxcError("image", `Cannot follow index ${digest}: indexes nest deeper than ${MAX_INDEX_DEPTH}`);
}

/** The manifest of `platform` in an index (following nested ones), or the error that lists what is offered. */
async function choose(
  puller: Puller,
  list: Descriptor[],
  platform: Platform,
  depth: number,
  offered: string[],
): Promise<Descriptor | undefined> {
  let best: { d: Descriptor; score: number } | undefined;
  for (const d of list) {
    if (d.annotations?.["vnd.docker.reference.type"] === "attestation-manifest") continue;
    const p = d.platform;
    if (INDEX_TYPES.has(d.mediaType ?? "")) {
      if (depth >= MAX_INDEX_DEPTH) throw tooDeep(d.digest);
      const nested = await puller.client.getManifest(puller.ref.repository, d.digest, MANIFEST_ACCEPT);
      const children = descriptors(parseJson(nested.bytes, `index ${d.digest}`).manifests, `index ${d.digest}`);
      const found = await choose(puller, children, platform, depth + 1, offered);
      if (found && (!best || best.score < 0)) best = { d: found, score: 0 };
      continue;
    }
    if (!p?.os || !p.architecture || p.os === "unknown" || p.architecture === "unknown") continue;
    const candidate = { os: p.os, architecture: p.architecture, variant: p.variant };
    offered.push(formatPlatform(candidate));
    const score = platformScore(platform, candidate);
    if (score >= 0 && (!best || score > best.score)) best = { d, score };
  }
  return best?.d;
}

/**
 * Remove what killed pulls left at `path` (their names carry the owner's PID and start time, see
 * core/oci_layout_writer.ts `tempPath`): the partial tar or directory beside it, and in an existing layout directory a
 * partial `index.json` or blob. Returns one warning per leftover.
 */
async function cleanStalePulls(path: string, signal: AbortSignal | undefined): Promise<string[]> {
  const kind = "a partial pull";
  const warnings = await cleanStaleTagged(dirname(path), { prefix: `.${basename(path)}.oci2lxc-pull`, kind }, {
    signal,
  });
  warnings.push(...await cleanStaleTagged(path, { prefix: ".index.json.oci2lxc-pull", kind }, { signal }));
  let algorithms: string[] = [];
  try {
    algorithms = [...Deno.readDirSync(join(path, "blobs"))].filter((e) => e.isDirectory).map((e) => e.name);
  } catch {
    // no layout directory (a tar, or a new directory): nothing inside to sweep
  }
  for (const a of algorithms) {
    const blobs = join(path, "blobs", a);
    warnings.push(...await cleanStaleTagged(blobs, { prefix: /\.[0-9a-f]+\.oci2lxc-pull/, kind }, { signal }));
  }
  return warnings;
}

/**
 * Copy the registry image `image` (`docker://…`) into `target` (`oci-archive:FILE[:REF]`, `oci:DIR[:REF]`).
 * `index.json` names it by REF, else by the reference's tag.
 *
 * @throws {Oci2LxcError} code "registry" for a registry that cannot be reached, refuses us or lacks the image,
 *   "digest" for a blob whose bytes differ, "platform" when an index has no image for the platform, "destination" when
 *   the target cannot be written or an existing oci-archive FILE may not be replaced (see `force`), "interrupted" when `signal` aborts; the target is then as it was
 */
export async function pull(image: string, target: string, options: PullOptions = {}): Promise<PullResult> {
  const ref = parseRegistryReference(image);
  const where = parsePullTarget(target);
  const platform = typeof options.platform === "string"
    ? parsePlatform(options.platform)
    : options.platform ?? hostPlatform();
  // An existing oci-archive FILE is replaced only as --force/--replace-any allow: checked before any work, and again
  // just before the rename.
  const guard = () => {
    if (where.transport === "oci-archive") checkArchiveTarget(where.path, options);
  };
  guard();
  for (const w of await cleanStalePulls(where.path, options.signal)) options.onWarning?.(w);
  using client = pullClient(ref, options);
  const writer = await openLayoutWriter(where);
  const puller = new Puller(ref, client, writer, options);
  const refName = where.ref ?? ref.tag;
  try {
    const top = await client.getManifest(ref.repository, manifestReference(ref), MANIFEST_ACCEPT);
    const name = formatRegistryReference(ref);
    let entry: IndexEntry;
    if (INDEX_TYPES.has(top.mediaType) && options.all) {
      entry = await puller.wholeIndex({ digest: top.digest, size: top.bytes.length }, "index", 0, top);
    } else if (INDEX_TYPES.has(top.mediaType)) {
      const list = descriptors(parseJson(top.bytes, `index of ${name}`).manifests, `index of ${name}`);
      const offered: string[] = [];
      const chosen = await choose(puller, list, platform, 0, offered);
      if (!chosen) {
        throw new Oci2LxcError(
          "platform",
          `Cannot find an image for ${formatPlatform(platform)} in ${name}: it offers ${offered.join(", ") || "none"}`,
          { hint: "Pass --platform with one of the offered platforms, or --all to copy every one" },
        );
      }
      entry = await puller.image(chosen, "manifest");
      if (chosen.platform?.os && chosen.platform.architecture) {
        const { os, architecture, variant } = chosen.platform;
        entry.platform = { os, architecture, ...(variant ? { variant } : {}) };
      }
    } else {
      entry = await puller.image({ digest: top.digest, size: top.bytes.length }, "manifest", top);
    }
    if (refName !== undefined) entry.annotations = { [REF_NAME]: refName };
    options.signal?.throwIfAborted();
    guard();
    await writer.commit(entry);
    return {
      reference: name,
      target,
      refName,
      digest: entry.digest,
      mediaType: entry.mediaType,
      platforms: puller.platforms,
      blobs: puller.blobs,
      bytes: puller.bytes,
    };
  } catch (err) {
    await writer.abort();
    if (options.signal?.aborted && !isInterruption(err)) {
      throw new Oci2LxcError("interrupted", `Cannot pull ${formatRegistryReference(ref)}: interrupted`, { cause: err });
    }
    throw err;
  }
}
