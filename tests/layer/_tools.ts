/**
 * Test helpers for the layer tests: inputs made at test time by the real
 * command-line tools (Debian packages `gzip` and `zstd`), and chunked feeding.
 *
 * @module
 */

import { createHash } from "node:crypto";
import type { Decompressor, OutputSink } from "../../core/layer/decompressor.ts";

const PACKAGES: Record<string, string> = { gzip: "gzip", zstd: "zstd" };

/** Run `tool args…` with `input` on stdin and return its stdout; a missing tool fails the test. */
export async function runTool(
  tool: "gzip" | "zstd",
  args: string[],
  input: Uint8Array,
): Promise<Uint8Array> {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(tool, {
      args,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (err) {
    throw new Error(
      `Cannot run ${tool}: install the Debian package ${PACKAGES[tool]}`,
      { cause: err },
    );
  }
  // Read while writing: a pipe fills up otherwise and both sides wait forever.
  const output = child.output();
  const writer = child.stdin.getWriter();
  await writer.write(input);
  await writer.close();
  const result = await output;
  if (!result.success) {
    throw new Error(
      `Cannot run ${tool} ${args.join(" ")}: ${new TextDecoder().decode(result.stderr)}`,
    );
  }
  return result.stdout;
}

/**
 * Deterministic sample data that exercises every path: compressible text,
 * a long run of zeros (one small compressed chunk expands past the 1 MiB
 * output buffer) and incompressible noise.
 */
export function sampleData(
  seed = 1,
  textBytes = 300_000,
  zeroBytes = 2_500_000,
  noiseBytes = 100_000,
): Uint8Array {
  const words = [
    "layer",
    "tar",
    "usr",
    "bin",
    "lib",
    "etc",
    "passwd",
    "oci",
    "lxc",
    "root",
    "\n",
    "/",
    " ",
  ];
  let state = seed >>> 0 || 1;
  const next = (): number => {
    // xorshift32: small, fast, and the same on every machine.
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state;
  };
  const out = new Uint8Array(textBytes + zeroBytes + noiseBytes);
  const encoder = new TextEncoder();
  let at = 0;
  while (at < textBytes) {
    const word = encoder.encode(words[next() % words.length]!);
    const take = Math.min(word.length, textBytes - at);
    out.set(word.subarray(0, take), at);
    at += take;
  }
  at += zeroBytes;
  for (; at < out.length; at++) out[at] = next() & 0xff;
  return out;
}

/** Lowercase sha256 hex of `bytes`, computed independently of core/digest.ts. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** Concatenate byte arrays, as `cat a b` would. */
export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** What a decompressor produced, summarised. */
export interface Decoded {
  sha256: string;
  length: number;
  /** Size of the largest chunk the sink saw. */
  largestChunk: number;
}

/**
 * Push `input` in `chunkSize` pieces (each a fresh copy, so no decompressor
 * can rely on the caller's buffer outliving `push`), then `finish()`.
 */
export function decodeInChunks(
  make: (sink: OutputSink) => Decompressor,
  input: Uint8Array,
  chunkSize: number,
): Decoded {
  const hash = createHash("sha256");
  let length = 0;
  let largestChunk = 0;
  const decompressor = make((chunk) => {
    hash.update(chunk);
    length += chunk.length;
    largestChunk = Math.max(largestChunk, chunk.length);
  });
  try {
    for (let at = 0; at < input.length; at += chunkSize) {
      decompressor.push(input.slice(at, at + chunkSize));
    }
    decompressor.finish();
  } finally {
    decompressor.close();
  }
  return { sha256: hash.digest("hex"), length, largestChunk };
}

/** The chunk sizes every decompressor test feeds: odd, small, page, and the pipeline's own. */
export const CHUNK_SIZES = [1, 7, 4096, 1 << 20] as const;
