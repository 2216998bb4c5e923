/**
 * `docker save` archives: the legacy layout (manifest.json, `<id>/layer.tar`, `<id>.json`) that Debian's docker.io and
 * `podman save` write, and Docker 25's dual format, whose manifest.json points into `blobs/sha256/`.
 *
 * @module
 */
import { Oci2LxcError } from "../errors.ts";
import { readBlobBytes } from "./blob_reader.ts";
import { parseJson, readBlobVerified } from "./documents.ts";
import type { Image, ImageConfig, ImageLayer } from "./image.ts";
import { localBlob } from "./local_blob.ts";
import type { MemberTable } from "./member.ts";
import { formatPlatform, type Platform, platformMatches } from "./platform.ts";

interface DockerManifestEntry {
  Config?: string;
  RepoTags?: string[] | null;
  Layers?: string[];
}

/** Whether `members` look like a docker-archive. */
export function isDockerArchive(members: MemberTable): boolean {
  return members.get("manifest.json") !== undefined;
}

/** Open the image of a docker-archive that `refName` selects (`repo:tag` or `@N`). */
export async function openDockerArchive(
  members: MemberTable,
  options: { reference: string; refName: string | undefined; platform: Platform },
): Promise<Omit<Image, "close">> {
  const where = members.description;
  const manifestMember = members.get("manifest.json")!;
  const manifestBytes = await readBlobBytes(localBlob(manifestMember, {}));
  let list: DockerManifestEntry[];
  try {
    list = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(manifestBytes));
    if (!Array.isArray(list)) throw new SyntaxError("expected a JSON list");
  } catch (cause) {
    throw new Oci2LxcError("image", `Cannot parse manifest.json in ${where}: ${(cause as Error).message}`, {
      cause,
      hint: "The archive is damaged; save the image again",
    });
  }
  const entry = selectEntry(list, options.refName, where);
  const entryIndex = list.indexOf(entry);
  if (typeof entry.Config !== "string" || !Array.isArray(entry.Layers)) {
    throw new Oci2LxcError(
      "image",
      `Cannot read manifest.json in ${where}: entry ${entryIndex} lacks Config or Layers`,
    );
  }
  const configMember = members.get(entry.Config);
  if (!configMember) {
    throw new Oci2LxcError("image", `Cannot find the config ${entry.Config} in ${where}`, {
      hint: "The archive is incomplete; save the image again",
    });
  }
  // The config file is named after its own sha256 (legacy `<hex>.json`, dual `blobs/sha256/<hex>`).
  const hex = entry.Config.replace(/^.*\//, "").replace(/\.json$/, "");
  if (!/^[a-f0-9]{64}$/.test(hex)) {
    throw new Oci2LxcError("image", `Cannot verify the config ${entry.Config} in ${where}: its name is not a sha256`);
  }
  const configDigest = `sha256:${hex}`;
  const configBytes = await readBlobVerified(localBlob(configMember, { digest: configDigest }), configDigest, "config");
  const config = parseJson<ImageConfig>(configBytes, `config ${entry.Config} in ${where}`);
  const platform: Platform = {
    os: config.os ?? "linux",
    architecture: config.architecture ?? "unknown",
    variant: config.variant,
  };
  if (!platformMatches(options.platform, platform)) {
    throw new Oci2LxcError(
      "platform",
      `Cannot find an image for ${formatPlatform(options.platform)} in ${where}: it offers ${formatPlatform(platform)}`,
      { hint: "Pass --platform with the offered platform" },
    );
  }
  const diffIds = config.rootfs?.diff_ids ?? [];
  if (diffIds.length !== entry.Layers.length) {
    throw new Oci2LxcError(
      "image",
      `Cannot pair layers in ${where}: manifest.json lists ${entry.Layers.length}, the config ${diffIds.length} diff_ids`,
    );
  }
  const layers: ImageLayer[] = entry.Layers.map((path, index) => {
    const member = members.get(path);
    if (!member) {
      throw new Oci2LxcError("image", `Cannot find layer ${index + 1} (${path}) in ${where}`, {
        hint: "The archive is incomplete; save the image again",
      });
    }
    const blobHex = /(?:^|\/)blobs\/sha256\/([a-f0-9]{64})$/.exec(path)?.[1];
    const blob = localBlob(member, {
      digest: blobHex ? `sha256:${blobHex}` : undefined,
      mediaType: "application/vnd.docker.image.rootfs.diff.tar",
    });
    // docker save writes plain tars; newer ones may not: sniff
    return { index, blob, compression: undefined, diffId: diffIds[index]! };
  });
  const tags = entry.RepoTags ?? [];
  return {
    reference: options.reference,
    transport: "docker-archive",
    refName: options.refName ?? tags[0],
    platforms: [platform],
    platform,
    manifest: {
      digest: "",
      size: manifestBytes.length,
      mediaType: "application/vnd.docker.save.manifest+json",
      value: entry as Record<string, unknown>,
    },
    index: undefined,
    config: {
      digest: configDigest,
      size: configBytes.length,
      mediaType: "application/vnd.docker.container.image.v1+json",
      value: config,
    },
    layers,
    warnings: [],
  };
}

function selectEntry(list: DockerManifestEntry[], ref: string | undefined, where: string): DockerManifestEntry {
  if (list.length === 0) throw new Oci2LxcError("image", `Cannot open ${where}: manifest.json lists no image`);
  const tags = list.map((e, i) => (e.RepoTags ?? []).join(", ") || `@${i}`);
  if (ref === undefined) {
    if (list.length > 1) {
      throw new Oci2LxcError(
        "image",
        `Cannot choose an image in ${where}: it holds ${list.length} (${tags.join("; ")})`,
        {
          hint: "Name one after the path: docker-archive:FILE:REPO:TAG or docker-archive:FILE:@N",
        },
      );
    }
    return list[0]!;
  }
  const at = /^@(\d+)$/.exec(ref);
  if (at) {
    const entry = list[Number(at[1])];
    if (entry) return entry;
  } else {
    const found = list.find((e) =>
      (e.RepoTags ?? []).some((t) =>
        t === ref || t === `${ref}:latest` || t.endsWith(`/${ref}`) || t.endsWith(`/${ref}:latest`)
      )
    );
    if (found) return found;
  }
  throw new Oci2LxcError("image", `Cannot find image "${ref}" in ${where}: it holds ${tags.join("; ")}`, {
    hint: "Name one of those, or @N for the N-th image (from 0)",
  });
}
