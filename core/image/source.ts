/**
 * Opening an image from a local reference: find what the path is (OCI layout
 * directory, OCI or docker archive, compressed archive), index it, and select
 * the manifest for the wanted platform. (Sources elsewhere, a registry, have
 * their own module; core/open.ts picks by transport.)
 *
 * @module
 */
import { dirname, join } from "node:path";
import { describeError, isInterruption, Oci2LxcError, throwIfInterrupted } from "../errors.ts";
import type { Compression } from "../layer/decompressor.ts";
import { createDecompressor, sniffCompression } from "../layer/decompress.ts";
import type { ImageReference } from "../reference.ts";
import { DirectoryMembers } from "./directory_members.ts";
import { isDockerArchive, openDockerArchive } from "./docker_archive.ts";
import type { Blob } from "./blob.ts";
import { readBlob } from "./blob_reader.ts";
import type { Image } from "./image.ts";
import { localBlob } from "./local_blob.ts";
import type { MemberTable } from "./member.ts";
import { isOciLayout, openOciLayout } from "./oci_layout.ts";
import { hostPlatform, type Platform } from "./platform.ts";
import { TarIndex } from "./tar_index.ts";

/** Options for {@linkcode openImage}. */
export interface OpenImageOptions {
  /** Platform to select; the host's by default. */
  platform?: Platform | undefined;
  /**
   * Where a compressed outer archive may be decompressed to (one temporary
   * file, removed by `Image.close()`); the system temp dir by default.
   * It must exist: a run creates no directory it might leave behind.
   */
  tempDir?: string | undefined;
  /** The temporary file's name in `tempDir` (a name a later run can tell is stale); a random one by default. */
  tempName?: string | undefined;
  /** Stops the opening (an "interrupted" error), also while a compressed outer archive is unpacked. */
  signal?: AbortSignal | undefined;
}

/**
 * Open the image a local `reference` names (an archive or layout directory). A compressed outer archive is unpacked
 * with breaks for the event loop; `signal` stops it (the temporary file is removed). Call `close()` on the result.
 */
export async function openImage(reference: ImageReference, options: OpenImageOptions = {}): Promise<Image> {
  const found = locate(reference);
  const temp = found.compression === "none"
    ? undefined
    : await decompressToTemp(reference.path, found.compression, tempPlace(options), options.signal);
  return await indexImage(reference, found, temp, options);
}

/** What the path of a reference is: a directory, or a file and its outer compression. */
interface Located {
  isDirectory: boolean;
  compression: Compression;
}

function locate(reference: ImageReference): Located {
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(reference.path);
  } catch (cause) {
    throw new Oci2LxcError("image", `Cannot open image ${reference.path}: ${(cause as Error).message}`, {
      cause,
      hint: "Check the path; references look like oci-archive:FILE, docker-archive:FILE, oci:DIR",
    });
  }
  if (info.isDirectory) {
    if (reference.transport !== "oci" && reference.transport !== "auto") {
      throw new Oci2LxcError("usage", `Cannot read ${reference.path} as ${reference.transport}: it is a directory`, {
        hint: `Use oci:${reference.path}`,
      });
    }
    return { isDirectory: true, compression: "none" };
  }
  if (reference.transport === "oci") {
    throw new Oci2LxcError("usage", `Cannot read ${reference.path} as an OCI layout directory: it is a file`, {
      hint: `Use oci-archive:${reference.path} or docker-archive:${reference.path}`,
    });
  }
  return { isDirectory: false, compression: sniffFile(reference.path) };
}

/**
 * Index the archive (`temp`, when the outer archive was unpacked, is ours
 * to remove) and select the manifest.
 */
async function indexImage(
  reference: ImageReference,
  found: Located,
  temp: string | undefined,
  options: OpenImageOptions,
): Promise<Image> {
  const platform = options.platform ?? hostPlatform();
  try {
    const members: MemberTable = found.isDirectory
      ? new DirectoryMembers(reference.path)
      : TarIndex.open(temp ?? reference.path);
    const transport = reference.transport;
    const useDocker = transport === "docker-archive" || (transport === "auto" && !isOciLayout(members));
    let image: Omit<Image, "close">;
    checkTransport(reference, members, found.isDirectory);
    if (useDocker) {
      if (!isDockerArchive(members)) {
        throw new Oci2LxcError(
          "image",
          `Cannot open ${reference.path}: it has neither index.json (OCI layout) nor manifest.json (docker-archive)`,
          { hint: "Save the image with podman save --format oci-archive, skopeo copy, or docker save" },
        );
      }
      image = await openDockerArchive(members, { reference: reference.text, refName: reference.ref, platform });
    } else {
      image = await openOciLayout(members, {
        reference: reference.text,
        transport: transport === "auto" ? (found.isDirectory ? "oci" : "oci-archive") : transport,
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

/**
 * Refuse a transport the content contradicts, saying what the content is and which reference reads it: an OCI
 * archive named `docker-archive:` has no manifest.json, a docker save named `oci-archive:` or `oci:` no index.json.
 */
function checkTransport(reference: ImageReference, members: MemberTable, isDirectory: boolean): void {
  const oci = isOciLayout(members);
  const docker = isDockerArchive(members);
  const ref = reference.ref === undefined ? "" : `:${reference.ref}`;
  if (reference.transport === "docker-archive" && !docker && oci) {
    throw new Oci2LxcError(
      "usage",
      `Cannot read ${reference.path} as docker-archive: it is an OCI archive (index.json, no manifest.json)`,
      { hint: `Use oci-archive:${reference.path}${ref}${ref ? "" : ", or the bare path"}` },
    );
  }
  if ((reference.transport === "oci-archive" || reference.transport === "oci") && !oci && docker) {
    throw new Oci2LxcError(
      "usage",
      `Cannot read ${reference.path} as ${reference.transport}: it is a docker-archive (manifest.json, no index.json)`,
      { hint: isDirectory ? `Use the bare path ${reference.path}` : `Use docker-archive:${reference.path}${ref}` },
    );
  }
}

function tempBase(): string {
  return Deno.env.get("TMPDIR") || "/tmp";
}

/** Where a compressed outer archive is unpacked to, and whether that is the caller's choice or $TMPDIR. */
interface TempPlace {
  dir: string;
  name: string | undefined;
  fromTmpdir: boolean;
}

function tempPlace(options: OpenImageOptions): TempPlace {
  if (options.tempDir !== undefined) return { dir: options.tempDir, name: options.tempName, fromTmpdir: false };
  return { dir: tempBase(), name: options.tempName, fromTmpdir: true };
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

/** A compressed archive being unpacked to a temporary file in `dir`. */
class TempArchive {
  readonly path: string;
  readonly source: Blob;
  readonly #out: Deno.FsFile;
  readonly #decompressor: ReturnType<typeof createDecompressor>;

  constructor(source: string, compression: Compression, place: TempPlace) {
    this.path = join(place.dir, place.name ?? `.oci2lxc-${crypto.randomUUID()}.tar`);
    this.source = localBlob({ name: source, file: source, offset: 0, size: Deno.statSync(source).size }, {});
    let out: Deno.FsFile;
    try {
      out = Deno.openSync(this.path, { write: true, createNew: true, mode: 0o600 });
    } catch (err) {
      throw unpackError(source, this.path, place, err);
    }
    this.#out = out;
    try {
      this.#decompressor = createDecompressor(compression, (chunk) => {
        let at = 0;
        while (at < chunk.length) at += out.writeSync(chunk.subarray(at));
      }, source);
    } catch (err) {
      out.close();
      Deno.removeSync(this.path);
      throw err;
    }
  }

  push(chunk: Uint8Array): void {
    this.#decompressor.push(chunk);
  }

  /** The temporary file, complete. */
  finish(): string {
    this.#decompressor.finish();
    this.#out.close();
    return this.path;
  }

  /** Remove the partial file. */
  abort(): void {
    this.#decompressor.close();
    try {
      this.#out.close();
    } catch { /* closed */ }
    try {
      Deno.removeSync(this.path);
    } catch { /* gone */ }
  }
}

/**
 * A failure to write the unpacked archive (disk full, read-only, a missing
 * TMPDIR) as an error that names the file and says where room is needed;
 * errors of the archive itself pass unchanged.
 */
function unpackError(source: string, path: string, place: TempPlace, err: unknown): unknown {
  if (err instanceof Oci2LxcError || !(err instanceof Error)) return err;
  const reason = describeError(err).replace(/: [a-z]+ '.*'$/, "").replace(/ \(os error \d+\)$/, "");
  const where = place.fromTmpdir ? `$TMPDIR (${place.dir})` : `${place.dir}, beside DEST`;
  const missing = err instanceof Deno.errors.NotFound;
  const full = /ENOSPC|EDQUOT|No space left|quota/i.test(`${(err as { code?: string }).code ?? ""} ${reason}`);
  const hint = missing
    ? (place.fromTmpdir ? `Set TMPDIR to a directory that exists (now ${place.dir})` : `Create ${place.dir} first`)
    : !full
    ? (place.fromTmpdir
      ? `Check that $TMPDIR (${place.dir}) is writable, or set TMPDIR to another directory`
      : `Check that ${place.dir} is writable`)
    : place.fromTmpdir
    ? `Free space in ${place.dir}, or set TMPDIR to a writable directory with room for the unpacked archive`
    : `Free space in ${place.dir} (the archive is unpacked beside DEST, on its filesystem), or unpack it yourself ` +
      "(gunzip or zstd -d) and convert the .tar";
  return new Oci2LxcError(
    "destination",
    `Cannot unpack ${source} to ${path} in ${where}: ${reason}`,
    { cause: err, hint },
  );
}

/**
 * Decompress a whole compressed archive once, to a temporary file we then index, with breaks for the event loop;
 * `signal` stops it.
 */
async function decompressToTemp(
  path: string,
  compression: Compression,
  place: TempPlace,
  signal: AbortSignal | undefined,
): Promise<string> {
  const temp = new TempArchive(path, compression, place);
  try {
    await readBlob(temp.source, (chunk) => {
      throwIfInterrupted(signal, `open ${path}`, "while unpacking it");
      temp.push(chunk);
    });
    return temp.finish();
  } catch (err) {
    temp.abort();
    throw isInterruption(err) ? err : unpackError(path, temp.path, place, err);
  }
}

/** The directory beside `dest` for temporary files, so they stay on DEST's filesystem. */
export function tempDirBeside(dest: string): string {
  return dirname(dest);
}
