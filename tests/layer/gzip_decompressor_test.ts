import assert from "node:assert/strict";
import { Oci2LxcError } from "../../core/errors.ts";
import { GzipDecompressor } from "../../core/layer/gzip_decompressor.ts";
import { CHUNK_SIZES, concat, decodeInChunks, runTool, sampleData, sha256Hex } from "./_tools.ts";

const gzip = (data: Uint8Array, level = "-6") => runTool("gzip", ["-c", "-n", level], data);
const gunzipIn = (input: Uint8Array, chunkSize: number) =>
  decodeInChunks(
    (sink) => new GzipDecompressor(sink, "test.gz"),
    input,
    chunkSize,
  );

/** Run push (in 4096-byte chunks) and finish; return what was thrown. */
function failureOf(input: Uint8Array): Oci2LxcError {
  const decompressor = new GzipDecompressor(() => {}, "test.gz");
  try {
    for (let at = 0; at < input.length; at += 4096) {
      decompressor.push(input.subarray(at, at + 4096));
    }
    decompressor.finish();
  } catch (err) {
    assert.ok(err instanceof Oci2LxcError, `expected Oci2LxcError, got ${err}`);
    return err;
  } finally {
    decompressor.close();
  }
  assert.fail("decompression succeeded");
}

Deno.test("GzipDecompressor restores gzip output fed in chunks of 1, 7, 4096 and 1 MiB bytes", async (t) => {
  const original = sampleData();
  const compressed = await gzip(original);
  for (const size of CHUNK_SIZES) {
    await t.step(`chunks of ${size}`, () => {
      const decoded = gunzipIn(compressed, size);
      assert.equal(decoded.length, original.length);
      assert.equal(decoded.sha256, sha256Hex(original));
    });
  }
});

Deno.test("GzipDecompressor hands the sink views of one reused buffer no larger than outputSize", async () => {
  const original = sampleData(2);
  const compressed = await gzip(original);
  const buffers = new Set<ArrayBufferLike>();
  let largest = 0;
  const parts: Uint8Array[] = [];
  const decompressor = new GzipDecompressor(
    (chunk) => {
      buffers.add(chunk.buffer);
      largest = Math.max(largest, chunk.length);
      parts.push(chunk.slice());
    },
    "test.gz",
    { outputSize: 4099 },
  );
  decompressor.push(compressed);
  decompressor.finish();
  assert.equal(buffers.size, 1);
  assert.equal(largest, 4099);
  assert.equal(sha256Hex(concat(...parts)), sha256Hex(original));
});

Deno.test("GzipDecompressor decodes every member of a multi-member gzip file", async (t) => {
  const a = sampleData(3, 50_000, 10_000, 5_000);
  const b = sampleData(4, 20_000, 1_500_000, 1_000);
  const c = sampleData(5, 70_000, 0, 70_000);
  const empty = new Uint8Array(0);
  // As `cat a.gz empty.gz b.gz c.gz` makes it, with members of several levels.
  const joined = concat(
    await gzip(a),
    await gzip(empty),
    await gzip(b, "-1"),
    await gzip(c, "-9"),
  );
  const expected = sha256Hex(concat(a, b, c));
  for (const size of CHUNK_SIZES) {
    await t.step(`chunks of ${size}`, () => {
      assert.equal(gunzipIn(joined, size).sha256, expected);
    });
  }
});

Deno.test("GzipDecompressor ignores zero padding after the last member, as gzip -d does", async (t) => {
  const a = sampleData(6, 30_000, 5_000, 1_000);
  const padded = concat(await gzip(a), await gzip(a), new Uint8Array(10_000));
  for (const size of [1, 7, 4096]) {
    await t.step(`chunks of ${size}`, () => {
      assert.equal(gunzipIn(padded, size).sha256, sha256Hex(concat(a, a)));
    });
  }
});

Deno.test("GzipDecompressor rejects data after the last member that is not another member", async () => {
  const member = await gzip(sampleData(7, 10_000, 0, 0));
  const garbage = concat(member, new TextEncoder().encode("trailing junk"));
  assert.match(
    failureOf(garbage).message,
    /^Cannot decompress test\.gz: gzip data is corrupt: incorrect header check \(gzip member 2, near compressed byte \d+\)$/,
  );
  const afterPadding = concat(member, new Uint8Array(100), new Uint8Array([1]));
  assert.equal(
    failureOf(afterPadding).message,
    `Cannot decompress test.gz: unexpected data after the last gzip member and its zero padding, at compressed byte ${
      member.length + 100
    }`,
  );
});

Deno.test("GzipDecompressor.finish() reports a truncated stream", async (t) => {
  const a = sampleData(8, 100_000, 100_000, 10_000);
  const compressed = await gzip(a);
  const twoMembers = concat(compressed, compressed);
  const cuts: [string, Uint8Array][] = [
    ["inside the header", compressed.subarray(0, 5)],
    ["in the middle", compressed.subarray(0, compressed.length >> 1)],
    ["inside the trailer", compressed.subarray(0, compressed.length - 1)],
    ["inside a second member", twoMembers.subarray(0, compressed.length + 20)],
  ];
  for (const [where, input] of cuts) {
    await t.step(where, () => {
      assert.equal(
        failureOf(input).message,
        "Cannot decompress test.gz: gzip stream is truncated",
      );
    });
  }
});

Deno.test("GzipDecompressor reports corrupt data with zlib's message", async () => {
  const compressed = await gzip(sampleData(9, 50_000, 0, 1_000));
  const badCrc = compressed.slice();
  badCrc[badCrc.length - 8]! ^= 0xff; // first byte of the CRC-32 trailer
  assert.match(
    failureOf(badCrc).message,
    /^Cannot decompress test\.gz: gzip data is corrupt: incorrect data check /,
  );
  const badMagic = compressed.slice();
  badMagic[0] = 0x1e;
  assert.equal(
    failureOf(badMagic).message,
    "Cannot decompress test.gz: gzip data is corrupt: incorrect header check (gzip member 1, near compressed byte 2)",
  );
  assert.equal(
    failureOf(badMagic).hint,
    "The layer blob is damaged; fetch or save the image again",
  );
});

Deno.test("GzipDecompressor.finish() rejects an empty stream", () => {
  assert.equal(
    failureOf(new Uint8Array(0)).message,
    "Cannot decompress test.gz: gzip stream is empty",
  );
});

Deno.test("GzipDecompressor lets a sink error through and can still be closed", async () => {
  const compressed = await gzip(sampleData(10));
  const decompressor = new GzipDecompressor(() => {
    throw new Error("disk full");
  }, "test.gz");
  assert.throws(() => decompressor.push(compressed), { message: "disk full" });
  assert.throws(
    () => decompressor.push(compressed),
    /decompressor was closed or failed before/,
  );
  decompressor.close();
  decompressor.close();
  assert.throws(
    () => decompressor.push(compressed),
    /decompressor was closed or failed before/,
  );
});
