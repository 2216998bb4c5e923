/**
 * Reading the JSON documents of an image (index, manifest, config) with their digest and size verified before a single
 * field is trusted.
 *
 * @module
 */
import { DigestMismatchError, Oci2LxcError } from "../errors.ts";
import { Hasher, parseDigest } from "../digest.ts";
import type { ImageDocument } from "./image.ts";
import type { Member, MemberTable } from "./member.ts";
import { readMemberBytes } from "./range_reader.ts";

/** The member that holds blob `digest` in an OCI layout. */
export function blobMember(members: MemberTable, digest: string, what: string): Member {
  const d = parseDigest(digest, what);
  const member = members.get(`blobs/${d.algorithm}/${d.hex}`);
  if (!member) {
    throw new Oci2LxcError(
      "image",
      `Cannot find ${what} ${digest} in ${members.description}: blobs/${d.algorithm}/${d.hex} is missing`,
      { hint: "The image was saved incompletely; save or download it again" },
    );
  }
  return member;
}

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
 * Read blob `digest` as JSON after checking its size (when known) and digest. `what` names it in errors: "manifest",
 * "config of linux/amd64".
 */
export function readDocument<T>(
  members: MemberTable,
  descriptor: { digest: string; size?: number | undefined; mediaType?: string | undefined },
  what: string,
): ImageDocument<T> {
  const member = blobMember(members, descriptor.digest, what);
  const bytes = readVerified(member, descriptor.digest, descriptor.size, what);
  return {
    digest: descriptor.digest,
    size: bytes.length,
    mediaType: descriptor.mediaType ?? "",
    value: parseJson<T>(bytes, `${what} ${descriptor.digest}`),
  };
}

/** Read a whole member and check it against a digest and optional size. */
export function readVerified(member: Member, digest: string, size: number | undefined, what: string): Uint8Array {
  const d = parseDigest(digest, what);
  if (size !== undefined && member.size !== size) {
    throw new DigestMismatchError(
      what,
      `${size} bytes`,
      `${member.size} bytes`,
      `Cannot verify ${what} ${digest}: ${member.name} is ${member.size} bytes, the descriptor says ${size}`,
    );
  }
  const bytes = readMemberBytes(member);
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
  return bytes;
}
