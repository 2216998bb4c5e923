import assert from "node:assert/strict";
import { Oci2LxcError } from "../../core/errors.ts";
import type { Decompressor, OutputSink } from "../../core/layer/decompressor.ts";
import { GzipDecompressor, type GzipDecompressorOptions } from "../../core/layer/gzip_decompressor.ts";
import { zlibNgAvailable, ZlibNgGzipDecompressor } from "../../core/layer/zlib_ng_gzip_decompressor.ts";
import { CHUNK_SIZES, concat, decodeInChunks, runTool, sampleData, sha256Hex } from "./_tools.ts";

// Both gzip decompressors keep one contract; each test runs for each.
// `members`: the FFI one counts members for its error messages.
const IMPLEMENTATIONS = [
  {
    label: "GzipDecompressor (libz through FFI)",
    members: true,
    make: (sink: OutputSink, name: string, options?: GzipDecompressorOptions): Decompressor =>
      new GzipDecompressor(sink, name, options),
  },
  {
    label: "ZlibNgGzipDecompressor (node:zlib handle)",
    members: false,
    make: (sink: OutputSink, name: string, options?: GzipDecompressorOptions): Decompressor =>
      new ZlibNgGzipDecompressor(sink, name, options),
  },
];

Deno.test("zlibNgAvailable(): this Deno has the node:zlib handle the fast gzip path drives", () => {
  // Pinned: if a Deno upgrade removes the internal handle, conversions fall
  // back to FFI libz (half the speed), and this test says so.
  assert.equal(zlibNgAvailable(), true);
});

const gzip = (data: Uint8Array, level = "-6") => runTool("gzip", ["-c", "-n", level], data);

for (const { label, members, make } of IMPLEMENTATIONS) {
  const gunzipIn = (input: Uint8Array, chunkSize: number) =>
    decodeInChunks((sink) => make(sink, "test.gz"), input, chunkSize);

  /** Run push (in 4096-byte chunks) and finish; return what was thrown. */
  const failureOf = (input: Uint8Array): Oci2LxcError => {
    const decompressor = make(() => {}, "test.gz");
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
  };

  Deno.test(`${label} restores gzip output fed in chunks of 1, 7, 4096 and 1 MiB bytes`, async (t) => {
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

  Deno.test(`${label} hands the sink views of one reused buffer no larger than outputSize`, async () => {
    const original = sampleData(2);
    const compressed = await gzip(original);
    const buffers = new Set<ArrayBufferLike>();
    let largest = 0;
    const parts: Uint8Array[] = [];
    const decompressor = make(
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

  Deno.test(`${label} decodes every member of a multi-member gzip file`, async (t) => {
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

  Deno.test(`${label} ignores zero padding after the last member, as gzip -d does`, async (t) => {
    const a = sampleData(6, 30_000, 5_000, 1_000);
    const padded = concat(await gzip(a), await gzip(a), new Uint8Array(10_000));
    for (const size of [1, 7, 4096]) {
      await t.step(`chunks of ${size}`, () => {
        assert.equal(gunzipIn(padded, size).sha256, sha256Hex(concat(a, a)));
      });
    }
  });

  Deno.test(`${label} rejects data after the last member that is not another member`, async () => {
    const member = await gzip(sampleData(7, 10_000, 0, 0));
    const garbage = concat(member, new TextEncoder().encode("trailing junk"));
    assert.match(
      failureOf(garbage).message,
      members
        ? /^Cannot decompress test\.gz: gzip data is corrupt: incorrect header check \(gzip member 2, near compressed byte \d+\)$/
        : /^Cannot decompress test\.gz: gzip data is corrupt: incorrect header check \(near compressed byte \d+\)$/,
    );
    const afterPadding = concat(member, new Uint8Array(100), new Uint8Array([1]));
    assert.equal(
      failureOf(afterPadding).message,
      `Cannot decompress test.gz: unexpected data after the last gzip member and its zero padding, at compressed byte ${
        member.length + 100
      }`,
    );
  });

  Deno.test(`${label}.finish() reports a truncated stream`, async (t) => {
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

  Deno.test(`${label} reports corrupt data with zlib's message`, async () => {
    const compressed = await gzip(sampleData(9, 50_000, 0, 1_000));
    const badCrc = compressed.slice();
    badCrc[badCrc.length - 8]! ^= 0xff; // first byte of the CRC-32 trailer
    assert.match(
      failureOf(badCrc).message,
      /^Cannot decompress test\.gz: gzip data is corrupt: incorrect data check /,
    );
    const badMagic = compressed.slice();
    badMagic[0] = 0x1e;
    assert.match(
      failureOf(badMagic).message,
      members
        ? /^Cannot decompress test\.gz: gzip data is corrupt: incorrect header check \(gzip member 1, near compressed byte 2\)$/
        : /^Cannot decompress test\.gz: gzip data is corrupt: incorrect header check \(near compressed byte \d+\)$/,
    );
    assert.equal(
      failureOf(badMagic).hint,
      "The layer blob is damaged; fetch or save the image again",
    );
  });

  Deno.test(`${label}.finish() rejects an empty stream`, () => {
    assert.equal(
      failureOf(new Uint8Array(0)).message,
      "Cannot decompress test.gz: gzip stream is empty",
    );
  });

  Deno.test(`${label} lets a sink error through and can still be closed`, async () => {
    const compressed = await gzip(sampleData(10));
    const decompressor = make(() => {
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
}
