/**
 * Content digests as the OCI image spec defines them: parsing `algorithm:hex` strings and hashing byte streams
 * incrementally.
 *
 * @module
 */

import { createHash, type Hash } from "node:crypto";
import { Oci2LxcError } from "./errors.ts";

/** The digest algorithms the OCI image spec registers and oci2lxc verifies. */
export type DigestAlgorithm = "sha256" | "sha512";

/** A parsed, validated digest. */
export interface Digest {
  readonly algorithm: DigestAlgorithm;
  /** Lowercase hex of the hash: 64 characters for sha256, 128 for sha512. */
  readonly hex: string;
  /** The whole digest as written: `sha256:…`. */
  readonly text: string;
}

const HEX_LENGTH: Readonly<Record<DigestAlgorithm, number>> = {
  sha256: 64,
  sha512: 128,
};

// The OCI image spec grammar (descriptor.md, "Digests").
const ALGORITHM = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*$/;
const ENCODED = /^[a-zA-Z0-9=_-]+$/;
const LOWER_HEX = /^[0-9a-f]+$/;

/**
 * Parse and validate a digest such as `sha256:e3b0c442…`.
 *
 * @param text the digest as the image wrote it
 * @param where names the field for the error message ("manifest layer 2")
 * @throws {Oci2LxcError} code "image" when the digest is malformed or its algorithm unsupported
 *
 * @example Parsing a layer digest
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseDigest } from "./digest.ts";
 * const d = parseDigest("sha256:" + "ab".repeat(32), "manifest layer 1");
 * assert(d.algorithm === "sha256" && d.hex.length === 64);
 * ```
 */
export function parseDigest(text: string, where: string): Digest {
  const fail = (reason: string): never => {
    throw new Oci2LxcError(
      "image",
      `Cannot parse digest ${JSON.stringify(text)} in ${where}: ${reason}`,
      {
        hint: "Digests look like sha256: followed by 64 lowercase hex digits",
      },
    );
  };
  const colon = text.indexOf(":");
  if (colon < 0) return fail("no algorithm prefix");
  const algorithm = text.slice(0, colon);
  const hex = text.slice(colon + 1);
  if (!ALGORITHM.test(algorithm)) {
    return fail(`algorithm ${JSON.stringify(algorithm)} is malformed`);
  }
  if (!ENCODED.test(hex)) {
    return fail(
      "the encoded part is empty or has characters outside [a-zA-Z0-9=_-]",
    );
  }
  if (algorithm !== "sha256" && algorithm !== "sha512") {
    return fail(`algorithm ${algorithm} is not supported (sha256, sha512)`);
  }
  if (!LOWER_HEX.test(hex)) {
    return fail(`${algorithm} needs lowercase hex digits`);
  }
  const length = HEX_LENGTH[algorithm];
  if (hex.length !== length) {
    return fail(`${algorithm} needs ${length} hex digits, found ${hex.length}`);
  }
  return { algorithm, hex, text };
}

/**
 * An incremental hash of a byte stream that yields an OCI digest string.
 *
 * @example Hashing two chunks
 * ```ts
 * import assert from "node:assert/strict";
 * import { Hasher } from "./digest.ts";
 * const hasher = new Hasher("sha256");
 * hasher.update(new TextEncoder().encode("hello "));
 * hasher.update(new TextEncoder().encode("world"));
 * assert(hasher.digest().startsWith("sha256:b94d27b9"));
 * ```
 */
export class Hasher {
  /** The algorithm this hasher computes. */
  readonly algorithm: DigestAlgorithm;
  readonly #hash: Hash;
  #size = 0;
  #result: string | undefined;

  constructor(algorithm: DigestAlgorithm = "sha256") {
    this.algorithm = algorithm;
    this.#hash = createHash(algorithm);
  }

  /** Bytes hashed so far. */
  get size(): number {
    return this.#size;
  }

  /** Hash more bytes; the chunk is not kept. */
  update(chunk: Uint8Array): void {
    if (this.#result !== undefined) {
      throw new Error("Cannot update a hasher after digest()");
    }
    this.#hash.update(chunk);
    this.#size += chunk.length;
  }

  /** The digest of everything hashed, as `algorithm:hex`; later calls return the same value. */
  digest(): string {
    this.#result ??= `${this.algorithm}:${this.#hash.digest("hex")}`;
    return this.#result;
  }
}

/**
 * A digest shortened to 12 hex digits for messages: `sha256:ab12cd34ef56`. A string that is not `algorithm:hex` is
 * shortened the same way, unvalidated.
 *
 * @example Shortening a digest
 * ```ts
 * import assert from "node:assert/strict";
 * import { shortDigest } from "./digest.ts";
 * assert.equal(shortDigest("sha256:" + "ab".repeat(32)), "sha256:abababababab");
 * ```
 */
export function shortDigest(digest: Digest | string): string {
  const text = typeof digest === "string" ? digest : digest.text;
  const colon = text.indexOf(":");
  return colon < 0 ? text.slice(0, 12) : text.slice(0, colon + 13);
}
