import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { DigestMismatchError, Oci2LxcError } from "../../core/errors.ts";
import type { Compression } from "../../core/layer/decompressor.ts";
import { LayerStream, type LayerStreamResult } from "../../core/layer/layer_stream.ts";
import { runTool, sampleData } from "./_tools.ts";

const NAME = "layer 2 (sha256:0123456789ab)";

function digestOf(
  bytes: Uint8Array,
  algorithm: "sha256" | "sha512" = "sha256",
): string {
  return `${algorithm}:${createHash(algorithm).update(bytes).digest("hex")}`;
}

async function compress(
  compression: Compression,
  data: Uint8Array,
): Promise<Uint8Array> {
  if (compression === "gzip") return await runTool("gzip", ["-c"], data);
  if (compression === "zstd") return await runTool("zstd", ["-q", "-c"], data);
  return data;
}

interface Run {
  blob: Uint8Array;
  compression: Compression;
  expectedDigest: string;
  expectedSize?: number;
  expectedDiffId?: string;
}

/** Stream `blob` in 4096-byte chunks; return the result and what the sink received. */
function stream(run: Run): { result: LayerStreamResult; received: string } {
  const hash = createHash("sha256");
  const layer = new LayerStream({
    compression: run.compression,
    expectedDigest: run.expectedDigest,
    expectedSize: run.expectedSize,
    expectedDiffId: run.expectedDiffId,
    name: NAME,
    sink: (chunk) => hash.update(chunk),
  });
  try {
    for (let at = 0; at < run.blob.length; at += 4096) {
      layer.push(run.blob.subarray(at, at + 4096));
    }
    return { result: layer.finish(), received: `sha256:${hash.digest("hex")}` };
  } finally {
    layer.close();
  }
}

Deno.test("LayerStream verifies and decompresses gzip, zstd and uncompressed layers in one pass", async (t) => {
  const tar = sampleData(1, 200_000, 1_200_000, 50_000);
  const diffId = digestOf(tar);
  for (const compression of ["gzip", "zstd", "none"] as const) {
    await t.step(compression, async () => {
      const blob = await compress(compression, tar);
      const run = {
        blob,
        compression,
        expectedDigest: digestOf(blob),
        expectedSize: blob.length,
        expectedDiffId: diffId,
      };
      const { result, received } = stream(run);
      assert.deepEqual(result, {
        digest: digestOf(blob),
        size: blob.length,
        diffId,
        uncompressedSize: tar.length,
      });
      assert.equal(received, diffId);
    });
  }
});

Deno.test("LayerStream computes the algorithm of the expected digest and diff_id", async () => {
  const tar = sampleData(2, 10_000, 10_000, 10_000);
  const blob = await compress("gzip", tar);
  const { result } = stream({
    blob,
    compression: "gzip",
    expectedDigest: digestOf(blob, "sha512"),
    expectedDiffId: digestOf(tar, "sha512"),
  });
  assert.equal(result.digest, digestOf(blob, "sha512"));
  assert.equal(result.diffId, digestOf(tar, "sha512"));
  const plain = stream({
    blob: tar,
    compression: "none",
    expectedDigest: digestOf(tar, "sha512"),
    expectedDiffId: digestOf(tar),
  });
  assert.equal(plain.result.digest, digestOf(tar, "sha512"));
  assert.equal(plain.result.diffId, digestOf(tar));
});

/** Assert that `fn` throws a DigestMismatchError and return it. */
function mismatchOf(fn: () => unknown): DigestMismatchError {
  try {
    fn();
  } catch (err) {
    assert.ok(
      err instanceof DigestMismatchError,
      `expected DigestMismatchError, got ${err}`,
    );
    assert.equal(err.code, "digest");
    return err;
  }
  assert.fail("no mismatch was reported");
}

Deno.test("LayerStream reports a flipped byte as a digest mismatch naming the layer and both digests", async (t) => {
  const tar = sampleData(3, 100_000, 100_000, 10_000);
  for (const compression of ["gzip", "zstd", "none"] as const) {
    await t.step(compression, async () => {
      const blob = await compress(compression, tar);
      const damaged = blob.slice();
      damaged[damaged.length >> 1]! ^= 0x40;
      const expected = digestOf(blob);
      const err = mismatchOf(() =>
        stream({
          blob: damaged,
          compression,
          expectedDigest: expected,
          expectedDiffId: digestOf(tar),
        })
      );
      assert.equal(err.what, NAME);
      assert.equal(err.expected, expected);
      assert.equal(err.actual, digestOf(damaged));
      assert.equal(
        err.message,
        `Cannot verify ${NAME}: the blob's digest is ${digestOf(damaged)}, expected ${expected}`,
      );
    });
  }
});

Deno.test("LayerStream reports a wrong size naming the layer and both sizes", async () => {
  const blob = await compress("gzip", sampleData(4, 10_000, 0, 0));
  for (const expectedSize of [blob.length + 1, blob.length - 1]) {
    const err = mismatchOf(() =>
      stream({
        blob,
        compression: "gzip",
        expectedDigest: digestOf(blob),
        expectedSize,
      })
    );
    assert.equal(err.what, NAME);
    assert.equal(err.expected, `${expectedSize} bytes`);
    assert.equal(err.actual, `${blob.length} bytes`);
    assert.equal(
      err.message,
      `Cannot verify ${NAME}: the blob is ${blob.length} bytes, expected ${expectedSize} bytes`,
    );
  }
});

Deno.test("LayerStream reports a wrong diff_id naming the layer and both digests", async () => {
  const tar = sampleData(5, 10_000, 10_000, 0);
  const blob = await compress("zstd", tar);
  const wrong = digestOf(new TextEncoder().encode("another layer"));
  const err = mismatchOf(() =>
    stream({
      blob,
      compression: "zstd",
      expectedDigest: digestOf(blob),
      expectedDiffId: wrong,
    })
  );
  assert.equal(err.what, `diff_id of ${NAME}`);
  assert.equal(err.expected, wrong);
  assert.equal(err.actual, digestOf(tar));
  assert.equal(
    err.message,
    `Cannot verify ${NAME}: the uncompressed content's diff_id is ${digestOf(tar)}, expected ${wrong}`,
  );
});

Deno.test("LayerStream reports a blob that matches its digest but does not decompress", async () => {
  const blob = await compress("gzip", sampleData(6, 50_000, 0, 0));
  const truncated = blob.subarray(0, blob.length - 10);
  assert.throws(
    () =>
      stream({
        blob: truncated,
        compression: "gzip",
        expectedDigest: digestOf(truncated),
      }),
    (err) =>
      err instanceof Oci2LxcError &&
      err.message === `Cannot decompress ${NAME}: gzip stream is truncated`,
  );
  const corrupt = blob.slice();
  corrupt[0] = 0;
  assert.throws(
    () =>
      stream({
        blob: corrupt,
        compression: "gzip",
        expectedDigest: digestOf(corrupt),
      }),
    (err) =>
      err instanceof Oci2LxcError &&
      /^Cannot decompress .*: gzip data is corrupt: incorrect header check/
        .test(err.message),
  );
});

Deno.test("LayerStream lets a sink error through at once, from the push that caused it", async () => {
  const blob = await compress("zstd", sampleData(7, 10_000, 10_000, 0));
  const layer = new LayerStream({
    compression: "zstd",
    expectedDigest: digestOf(blob),
    name: NAME,
    sink: () => {
      throw new Error("disk full");
    },
  });
  assert.throws(() => layer.push(blob), { message: "disk full" });
  assert.throws(
    () => layer.push(blob),
    /the layer stream is finished or failed/,
  );
  layer.close();
});

Deno.test("LayerStream rejects a malformed expected digest naming the layer", () => {
  assert.throws(
    () =>
      new LayerStream({
        compression: "none",
        expectedDigest: "sha256:abc",
        name: NAME,
        sink: () => {},
      }),
    {
      message: `Cannot parse digest "sha256:abc" in ${NAME}: sha256 needs 64 hex digits, found 3`,
    },
  );
  assert.throws(
    () =>
      new LayerStream({
        compression: "none",
        expectedDigest: digestOf(new Uint8Array(0)),
        expectedDiffId: "md5:d41d8cd98f00b204e9800998ecf8427e",
        name: NAME,
        sink: () => {},
      }),
    {
      message:
        `Cannot parse digest "md5:d41d8cd98f00b204e9800998ecf8427e" in the diff_id of ${NAME}: algorithm md5 is not supported (sha256, sha512)`,
    },
  );
});
