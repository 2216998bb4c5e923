import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { ZstdCompressor } from "../../core/layer/zstd_compressor.ts";
import { ZstdDecompressor } from "../../core/layer/zstd_decompressor.ts";
import { concat, unzstd } from "./_helpers.ts";

/** 6 MB that compress well in parts and not at all in others. */
function sample(): Uint8Array {
  const out = new Uint8Array(6_000_000);
  let state = 12345;
  for (let i = 0; i < out.length; i++) {
    if (i % 1_000_000 < 700_000) {
      out[i] = "oci2lxc proxmox template\n".charCodeAt(i % 25);
    } else {
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      out[i] = state & 255;
    }
  }
  return out;
}

function compress(input: Uint8Array, chunk: number, workers?: number): { out: Uint8Array; workers: number } {
  const parts: Uint8Array[] = [];
  const z = new ZstdCompressor((c) => parts.push(c.slice()), "test.zst", workers === undefined ? {} : { workers });
  for (let at = 0; at < input.length; at += chunk) z.push(input.subarray(at, at + chunk));
  z.finish();
  const out = concat(parts);
  assert.equal(z.bytesIn, input.length);
  assert.equal(z.bytesOut, out.length);
  return { out, workers: z.workers };
}

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

Deno.test("ZstdCompressor output decompresses with zstd -dc and with ZstdDecompressor, threaded or not", () => {
  const input = sample();
  const dir = Deno.makeTempDirSync({ prefix: "oci2lxc-zstd-" });
  try {
    for (const [chunk, workers] of [[1 << 20, 0], [4097, 2], [3_000_000, undefined]] as const) {
      const { out, workers: used } = compress(input, chunk, workers);
      if (workers === 0) assert.equal(used, 0);
      assert.ok(out.length < input.length / 2, "the text parts compress");
      Deno.writeFileSync(`${dir}/t.zst`, out);
      assert.equal(sha(unzstd(`${dir}/t.zst`)), sha(input));
      const back: Uint8Array[] = [];
      const d = new ZstdDecompressor((c) => back.push(c.slice()), "back");
      d.push(out);
      d.finish();
      assert.equal(sha(concat(back)), sha(input));
    }
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("ZstdCompressor writes one frame with a checksum, also for empty input", () => {
  const dir = Deno.makeTempDirSync({ prefix: "oci2lxc-zstd-" });
  try {
    const { out } = compress(new Uint8Array(0), 1);
    Deno.writeFileSync(`${dir}/e.zst`, out);
    assert.equal(unzstd(`${dir}/e.zst`).length, 0);
    // Frame header descriptor: bit 2 is the content checksum flag.
    assert.deepEqual([...out.subarray(0, 4)], [0x28, 0xb5, 0x2f, 0xfd]);
    assert.equal(out[4]! & 0x04, 0x04);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("ZstdCompressor cannot be used after finish, and refuses levels and worker counts out of range", () => {
  const z = new ZstdCompressor(() => {}, "x");
  z.finish();
  assert.throws(() => z.push(new Uint8Array(1)), /closed or failed/);
  assert.throws(() => z.finish(), /closed or failed/);
  z.close();
  assert.throws(() => new ZstdCompressor(() => {}, "x", { level: 99 }), RangeError);
  assert.throws(() => new ZstdCompressor(() => {}, "x", { workers: -1 }), RangeError);
});

Deno.test("ZstdCompressor passes a sink's error through and is spent afterwards", () => {
  const z = new ZstdCompressor(
    () => {
      throw new Error("disk full");
    },
    "x",
    { workers: 0 },
  );
  assert.throws(() => {
    z.push(sample());
    z.finish();
  }, /disk full/);
  assert.throws(() => z.push(new Uint8Array(1)), /closed or failed/);
  z.close();
});
