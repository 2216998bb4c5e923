/**
 * Opening an image from a reference: find what the path is (OCI layout
 * directory, OCI or docker archive, compressed archive), index it, and select
 * the manifest for the wanted platform.
 *
 * @module
 */
import { dirname, join } from "node:path";
import { Oci2LxcError } from "../errors.ts";
import type { Compression } from "../layer/decompressor.ts";
import { createDecompressor, sniffCompression } from "../layer/decompress.ts";
import type { ImageReference } from "../reference.ts";
import { DirectoryMembers } from "./directory_members.ts";
import { isDockerArchive, openDockerArchive } from "./docker_archive.ts";
import type { Image } from "./image.ts";
import type { MemberTable } from "./member.ts";
import { isOciLayout, openOciLayout } from "./oci_layout.ts";
import { hostPlatform, type Platform } from "./platform.ts";
import { readMember } from "./range_reader.ts";
import { TarIndex } from "./tar_index.ts";

/** Options for {@linkcode openImage}. */
export interface OpenImageOptions {
  /** Platform to select; the host's by default. */
  platform?: Platform | undefined;
  /**
   * Where a compressed outer archive may be decompressed to (one temporary
   * file, removed by `Image.close()`); the system temp dir by default.
   */
  tempDir?: string | undefined;
}

/** Open the image `reference` names. Call `close()` on the result when done. */
export function openImage(reference: ImageReference, options: OpenImageOptions = {}): Image {
  const platform = options.platform ?? hostPlatform();
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(reference.path);
  } catch (cause) {
    throw new Oci2LxcError("image", `Cannot open image ${reference.path}: ${(cause as Error).message}`, {
      cause,
      hint: "Check the path; references look like oci-archive:FILE, docker-archive:FILE, oci:DIR",
    });
  }
  let members: MemberTable;
  let temp: string | undefined;
  if (info.isDirectory) {
    if (reference.transport !== "oci" && reference.transport !== "auto") {
      throw new Oci2LxcError("usage", `Cannot read ${reference.path} as ${reference.transport}: it is a directory`, {
        hint: `Use oci:${reference.path}`,
      });
    }
    members = new DirectoryMembers(reference.path);
  } else {
    if (reference.transport === "oci") {
      throw new Oci2LxcError("usage", `Cannot read ${reference.path} as an OCI layout directory: it is a file`, {
        hint: `Use oci-archive:${reference.path} or docker-archive:${reference.path}`,
      });
    }
    const compression = sniffFile(reference.path);
    let archive = reference.path;
    if (compression !== "none") {
      temp = decompressToTemp(reference.path, compression, options.tempDir ?? tempBase());
      archive = temp;
    }
    try {
      members = TarIndex.open(archive);
    } catch (err) {
      if (temp) Deno.removeSync(temp);
      throw err;
    }
  }
  try {
    const transport = reference.transport;
    const useDocker = transport === "docker-archive" || (transport === "auto" && !isOciLayout(members));
    let image: Omit<Image, "close">;
    if (useDocker) {
      if (!isDockerArchive(members)) {
        throw new Oci2LxcError(
          "image",
          `Cannot open ${reference.path}: it has neither index.json (OCI layout) nor manifest.json (docker-archive)`,
          { hint: "Save the image with podman save --format oci-archive, skopeo copy, or docker save" },
        );
      }
      image = openDockerArchive(members, { reference: reference.text, refName: reference.ref, platform });
    } else {
      image = openOciLayout(members, {
        reference: reference.text,
        transport: transport === "auto" ? (info.isDirectory ? "oci" : "oci-archive") : transport,
        refName: reference.ref,
        platform,
      });
    }
    const warnings = temp ? [...image.warnings, `decompressed ${reference.path} to a temporary file`] : image.warnings;
    return {
      ...image,
      warnings,
      close() {
        if (temp) {
          try {
            Deno.removeSync(temp);
          } catch { /* already gone */ }
          temp = undefined;
        }
      },
    };
  } catch (err) {
    if (temp) Deno.removeSync(temp);
    throw err;
  }
}

function tempBase(): string {
  return Deno.env.get("TMPDIR") ?? "/tmp";
}

function sniffFile(path: string): Compression {
  const head = new Uint8Array(8);
  const f = Deno.openSync(path, { read: true });
  try {
    const n = f.readSync(head) ?? 0;
    return sniffCompression(head.subarray(0, n));
  } finally {
    f.close();
  }
}

/** Decompress a whole compressed archive once, to a temporary file we then index. */
function decompressToTemp(path: string, compression: Compression, dir: string): string {
  Deno.mkdirSync(dir, { recursive: true });
  const temp = join(dir, `.oci2lxc-${crypto.randomUUID()}.tar`);
  const out = Deno.openSync(temp, { write: true, createNew: true, mode: 0o600 });
  try {
    const sink = (chunk: Uint8Array) => {
      let at = 0;
      while (at < chunk.length) at += out.writeSync(chunk.subarray(at));
    };
    const decompressor = createDecompressor(compression, sink, path);
    try {
      const size = Deno.statSync(path).size;
      readMember({ name: path, file: path, offset: 0, size }, (chunk) => decompressor.push(chunk));
      decompressor.finish();
    } catch (err) {
      decompressor.close();
      throw err;
    }
    out.close();
    return temp;
  } catch (err) {
    try {
      out.close();
    } catch { /* closed */ }
    Deno.removeSync(temp);
    throw err;
  }
}

/** The directory beside `dest` for temporary files, so they stay on DEST's filesystem. */
export function tempDirBeside(dest: string): string {
  return dirname(dest);
}
