import assert from "node:assert/strict";
import { Oci2LxcError } from "../../core/errors.ts";
import { ZstdDecompressor } from "../../core/layer/zstd_decompressor.ts";
import { CHUNK_SIZES, concat, decodeInChunks, runTool, sampleData, sha256Hex } from "./_tools.ts";

const zstd = (data: Uint8Array, ...args: string[]) => runTool("zstd", ["-q", "-c", ...args], data);
const unzstdIn = (input: Uint8Array, chunkSize: number) =>
  decodeInChunks(
    (sink) => new ZstdDecompressor(sink, "test.zst"),
    input,
    chunkSize,
  );

/** A skippable frame (magic 0x184D2A5?) as zstd:chunked writes for its metadata. */
function skippableFrame(payload: Uint8Array, variant = 0): Uint8Array {
  const frame = new Uint8Array(8 + payload.length);
  const view = new DataView(frame.buffer);
  view.setUint32(0, 0x184d2a50 + variant, true);
  view.setUint32(4, payload.length, true);
  frame.set(payload, 8);
  return frame;
}

/** Run push (in 4096-byte chunks) and finish; return what was thrown. */
function failureOf(input: Uint8Array): Oci2LxcError {
  const decompressor = new ZstdDecompressor(() => {}, "test.zst");
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

Deno.test("ZstdDecompressor restores zstd output fed in chunks of 1, 7, 4096 and 1 MiB bytes", async (t) => {
  const original = sampleData();
  const compressed = await zstd(original);
  for (const size of CHUNK_SIZES) {
    await t.step(`chunks of ${size}`, () => {
      const decoded = unzstdIn(compressed, size);
      assert.equal(decoded.length, original.length);
      assert.equal(decoded.sha256, sha256Hex(original));
    });
  }
});

Deno.test("ZstdDecompressor hands the sink views of one reused buffer no larger than outputSize", async () => {
  const original = sampleData(2);
  const compressed = await zstd(original);
  const buffers = new Set<ArrayBufferLike>();
  let largest = 0;
  const parts: Uint8Array[] = [];
  const decompressor = new ZstdDecompressor(
    (chunk) => {
      buffers.add(chunk.buffer);
      largest = Math.max(largest, chunk.length);
      parts.push(chunk.slice());
    },
    "test.zst",
    { outputSize: 4099 },
  );
  decompressor.push(compressed);
  decompressor.finish();
  assert.equal(buffers.size, 1);
  assert.equal(largest, 4099);
  assert.equal(sha256Hex(concat(...parts)), sha256Hex(original));
});

Deno.test("ZstdDecompressor decodes every frame of a multi-frame zstd file", async (t) => {
  const a = sampleData(3, 50_000, 10_000, 5_000);
  const b = sampleData(4, 20_000, 1_500_000, 1_000);
  const c = sampleData(5, 70_000, 0, 70_000);
  // As `cat a.zst empty.zst b.zst c.zst` makes it; frames with and without checksums.
  const joined = concat(
    await zstd(a),
    await zstd(new Uint8Array(0)),
    await zstd(b, "-1", "--no-check"),
    await zstd(c, "-19"),
  );
  const expected = sha256Hex(concat(a, b, c));
  for (const size of CHUNK_SIZES) {
    await t.step(`chunks of ${size}`, () => {
      assert.equal(unzstdIn(joined, size).sha256, expected);
    });
  }
});

Deno.test("ZstdDecompressor skips skippable frames before, between and after frames", async (t) => {
  const a = sampleData(6, 30_000, 200_000, 1_000);
  const b = sampleData(7, 10_000, 0, 10_000);
  const metadata = new TextEncoder().encode('{"zstd:chunked":"manifest"}');
  const joined = concat(
    skippableFrame(metadata, 0),
    await zstd(a),
    skippableFrame(metadata, 15),
    skippableFrame(new Uint8Array(0), 3),
    await zstd(b),
    skippableFrame(new Uint8Array(5000), 7),
  );
  for (const size of CHUNK_SIZES) {
    await t.step(`chunks of ${size}`, () => {
      assert.equal(unzstdIn(joined, size).sha256, sha256Hex(concat(a, b)));
    });
  }
});

Deno.test("ZstdDecompressor.finish() reports a truncated stream", async (t) => {
  const a = sampleData(8, 100_000, 100_000, 10_000);
  const compressed = await zstd(a);
  const withSkippable = concat(compressed, skippableFrame(new Uint8Array(100)));
  const cuts: [string, Uint8Array][] = [
    ["inside the frame header", compressed.subarray(0, 3)],
    ["in the middle", compressed.subarray(0, compressed.length >> 1)],
    ["inside the checksum", compressed.subarray(0, compressed.length - 1)],
    [
      "inside a second frame",
      concat(compressed, compressed).subarray(0, compressed.length + 20),
    ],
    [
      "inside a trailing skippable frame",
      withSkippable.subarray(0, withSkippable.length - 1),
    ],
  ];
  for (const [where, input] of cuts) {
    await t.step(where, () => {
      assert.equal(
        failureOf(input).message,
        "Cannot decompress test.zst: zstd stream is truncated",
      );
    });
  }
});

Deno.test("ZstdDecompressor reports corrupt data with libzstd's error name", async () => {
  const compressed = await zstd(sampleData(9, 50_000, 0, 1_000));
  const badChecksum = compressed.slice();
  badChecksum[badChecksum.length - 1]! ^= 0xff;
  assert.match(
    failureOf(badChecksum).message,
    /^Cannot decompress test\.zst: zstd data is corrupt: Restored data doesn't match checksum \(near compressed byte \d+\)$/,
  );
  const badMagic = compressed.slice();
  badMagic[0] = 0x00;
  const failure = failureOf(badMagic);
  assert.equal(
    failure.message,
    "Cannot decompress test.zst: zstd data is corrupt: Unknown frame descriptor (near compressed byte 0)",
  );
  assert.equal(
    failure.hint,
    "The layer blob is damaged; fetch or save the image again",
  );
});

Deno.test("ZstdDecompressor rejects zero bytes after the last frame, as zstd -d does", async () => {
  const padded = concat(
    await zstd(sampleData(10, 1_000, 0, 0)),
    new Uint8Array(16),
  );
  assert.match(
    failureOf(padded).message,
    /^Cannot decompress test\.zst: zstd data is corrupt: Unknown frame descriptor/,
  );
});

Deno.test("ZstdDecompressor refuses a frame whose window exceeds 128 MiB, with a hint", async () => {
  // From a pipe zstd cannot shrink the window to the input size, so --long=28 keeps 256 MiB.
  const wide = await zstd(sampleData(11, 1_000, 0, 0), "--long=28");
  const failure = failureOf(wide);
  assert.match(
    failure.message,
    /^Cannot decompress test\.zst: Frame requires too much memory for decoding/,
  );
  assert.match(failure.hint ?? "", /window larger than 128 MiB/);
});

Deno.test("ZstdDecompressor.finish() rejects an empty stream", () => {
  assert.equal(
    failureOf(new Uint8Array(0)).message,
    "Cannot decompress test.zst: zstd stream is empty",
  );
});

Deno.test("ZstdDecompressor lets a sink error through and can still be closed", async () => {
  const compressed = await zstd(sampleData(12));
  const decompressor = new ZstdDecompressor(() => {
    throw new Error("disk full");
  }, "test.zst");
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
