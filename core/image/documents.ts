/**
 * Reading the JSON documents of an image (index, manifest, config) with their digest and size verified before a single
 * field is trusted.
 *
 * @module
 */
import { DigestMismatchError, Oci2LxcError } from "../errors.ts";
import { Hasher, parseDigest } from "../digest.ts";
import type { Blob } from "./blob.ts";
import { readBlobBytes } from "./blob_reader.ts";
import type { Descriptor } from "./descriptor.ts";
import type { ImageDocument } from "./image.ts";
import type { ImageSource } from "./image_source.ts";

/** Parse JSON bytes, naming the document on failure. */
export function parseJson<T>(bytes: Uint8Array, what: string): T {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch (cause) {
    throw new Oci2LxcError("image", `Cannot parse ${what}: it is not UTF-8 text`, { cause });
  }
  try {
    const value = JSON.parse(text);
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
      throw new SyntaxError("expected a JSON object");
    }
    return value as T;
  } catch (cause) {
    throw new Oci2LxcError("image", `Cannot parse ${what}: ${(cause as Error).message}`, {
      cause,
      hint: "The archive is damaged; save or download the image again",
    });
  }
}

/**
 * Read the document `descriptor` names from `source` as JSON after checking its size (when known) and digest: an index
 * or manifest (`kind` "manifest") or a config blob (`kind` "blob"). `what` names it in errors: "manifest", "config".
 */
export async function readDocument<T>(
  source: ImageSource,
  descriptor: Descriptor,
  what: string,
  kind: "manifest" | "blob",
): Promise<ImageDocument<T>> {
  const bytes = kind === "manifest"
    ? await source.manifest(descriptor, what)
    : await readBlobVerified(source.blob(descriptor, what), descriptor.digest, what);
  if (kind === "manifest") checkBytes(bytes, descriptor.digest, descriptor.size, what, source.description);
  return {
    digest: descriptor.digest,
    size: bytes.length,
    mediaType: descriptor.mediaType ?? "",
    value: parseJson<T>(bytes, `${what} ${descriptor.digest}`),
  };
}

/** Read a whole (small) blob and check it against `digest` and the blob's declared size. */
export async function readBlobVerified(blob: Blob, digest: string, what: string): Promise<Uint8Array> {
  parseDigest(digest, what);
  const onDisk = blob.local?.size;
  if (blob.size !== undefined && onDisk !== undefined && onDisk !== blob.size) {
    throw new DigestMismatchError(
      what,
      `${blob.size} bytes`,
      `${onDisk} bytes`,
      `Cannot verify ${what} ${digest}: ${blob.name} is ${onDisk} bytes, the descriptor says ${blob.size}`,
    );
  }
  const bytes = await readBlobBytes(blob);
  checkBytes(bytes, digest, blob.size, what, blob.name);
  return bytes;
}

/** Check bytes against a digest and an optional size; `where` names where they came from. */
function checkBytes(bytes: Uint8Array, digest: string, size: number | undefined, what: string, where: string): void {
  const d = parseDigest(digest, what);
  if (size !== undefined && bytes.length !== size) {
    throw new DigestMismatchError(
      what,
      `${size} bytes`,
      `${bytes.length} bytes`,
      `Cannot verify ${what} ${digest}: ${where} gave ${bytes.length} bytes, the descriptor says ${size}`,
    );
  }
  const hasher = new Hasher(d.algorithm);
  hasher.update(bytes);
  const actual = hasher.digest();
  if (actual !== d.text) {
    throw new DigestMismatchError(
      what,
      d.text,
      actual,
      `Cannot verify ${what} ${d.text}: the content hashes to ${actual}`,
    );
  }
}
