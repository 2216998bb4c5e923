import assert from "node:assert/strict";
import { Hasher, parseDigest, shortDigest } from "../core/digest.ts";
import { Oci2LxcError } from "../core/errors.ts";

const SHA256_ABC = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
const SHA512_ABC = "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a" +
  "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f";

Deno.test("parseDigest() accepts sha256 and sha512 digests and splits them", () => {
  assert.deepEqual(parseDigest(`sha256:${SHA256_ABC}`, "config"), {
    algorithm: "sha256",
    hex: SHA256_ABC,
    text: `sha256:${SHA256_ABC}`,
  });
  assert.deepEqual(parseDigest(`sha512:${SHA512_ABC}`, "config"), {
    algorithm: "sha512",
    hex: SHA512_ABC,
    text: `sha512:${SHA512_ABC}`,
  });
});

Deno.test("parseDigest() rejects malformed digests naming the digest, the place and the reason", () => {
  const cases: [string, string][] = [
    [SHA256_ABC, "no algorithm prefix"],
    [`SHA256:${SHA256_ABC}`, 'algorithm "SHA256" is malformed'],
    [`sha256-:${SHA256_ABC}`, 'algorithm "sha256-" is malformed'],
    [`:${SHA256_ABC}`, 'algorithm "" is malformed'],
    [
      "sha256:",
      "the encoded part is empty or has characters outside [a-zA-Z0-9=_-]",
    ],
    [
      `sha256:${SHA256_ABC.slice(1)}!`,
      "the encoded part is empty or has characters outside [a-zA-Z0-9=_-]",
    ],
    [
      `sha256:${SHA256_ABC} `,
      "the encoded part is empty or has characters outside [a-zA-Z0-9=_-]",
    ],
    [
      `sha384:${SHA256_ABC}`,
      "algorithm sha384 is not supported (sha256, sha512)",
    ],
    [
      `multihash+base58:${SHA256_ABC}`,
      "algorithm multihash+base58 is not supported (sha256, sha512)",
    ],
    [`sha256:${SHA256_ABC.toUpperCase()}`, "sha256 needs lowercase hex digits"],
    [`sha256:${SHA256_ABC.slice(0, 63)}g`, "sha256 needs lowercase hex digits"],
    [`sha256:${SHA256_ABC}00`, "sha256 needs 64 hex digits, found 66"],
    [`sha512:${SHA256_ABC}`, "sha512 needs 128 hex digits, found 64"],
  ];
  for (const [text, reason] of cases) {
    assert.throws(() => parseDigest(text, "manifest layer 1"), (err) => {
      assert.ok(err instanceof Oci2LxcError);
      assert.equal(err.code, "image");
      assert.equal(
        err.message,
        `Cannot parse digest ${JSON.stringify(text)} in manifest layer 1: ${reason}`,
      );
      return true;
    }, text);
  }
});

Deno.test("Hasher yields the same digest for chunks as for the whole input, with its size", () => {
  const abc = new TextEncoder().encode("abc");
  const whole = new Hasher();
  whole.update(abc);
  assert.equal(whole.digest(), `sha256:${SHA256_ABC}`);
  assert.equal(whole.size, 3);
  const chunked = new Hasher("sha512");
  for (const byte of abc) chunked.update(new Uint8Array([byte]));
  chunked.update(new Uint8Array(0));
  assert.equal(chunked.digest(), `sha512:${SHA512_ABC}`);
  assert.equal(chunked.digest(), `sha512:${SHA512_ABC}`);
  assert.equal(chunked.size, 3);
  assert.equal(chunked.algorithm, "sha512");
});

Deno.test("Hasher refuses updates after digest()", () => {
  const hasher = new Hasher();
  hasher.digest();
  assert.throws(
    () => hasher.update(new Uint8Array(1)),
    /Cannot update a hasher after digest\(\)/,
  );
});

Deno.test("shortDigest() keeps the algorithm and 12 hex digits", () => {
  assert.equal(shortDigest(`sha256:${SHA256_ABC}`), "sha256:ba7816bf8f01");
  assert.equal(
    shortDigest(parseDigest(`sha512:${SHA512_ABC}`, "x")),
    "sha512:ddaf35a19361",
  );
  assert.equal(shortDigest("nocolon-and-long-text"), "nocolon-and-");
});
