/**
 * A source whose blobs are only streams (tests/image/_memory_source.ts: a real fixture's blobs in memory, as a registry
 * would serve them) goes through the shared selection and the assembly, on this thread and through the layer worker's
 * feed, to the same rootfs as the archive it came from; damaged, cut and interrupted streams fail as an archive's would.
 */
import assert from "node:assert/strict";
import { type AssembleResult, assembleRootfs } from "../../core/assemble.ts";
import { DigestMismatchError, Oci2LxcError } from "../../core/errors.ts";
import type { ImageLayer } from "../../core/image/image.ts";
import { parsePlatform } from "../../core/image/platform.ts";
import { selectImage } from "../../core/image/select_image.ts";
import { open } from "../../core/open.ts";
import { fsManifest } from "../../core/rootfs/fs_manifest.ts";
import { FIXTURES, withTempDir, writeOciDir } from "../_helpers/oci_builder.ts";
import { file } from "../rootfs/_layers.ts";
import { layerTar } from "../rootfs/_oci_image.ts";
import { MemorySource } from "./_memory_source.ts";
import { systemTest } from "../_helpers/tier.ts";

type Mode = "always" | "never";
const AMD64 = parsePlatform("linux/amd64");

/** The image of `source` for linux/amd64, as a registry source would select it. */
function selectFrom(source: MemorySource) {
  return selectImage(source, source.top, {
    reference: "memory",
    transport: "memory",
    refName: undefined,
    platform: AMD64,
  });
}

/** Assemble `layers` into a fresh `dir`; the result, or the error. */
async function assembleInto(
  layers: readonly ImageLayer[],
  dir: string,
  mode: Mode,
  signal?: AbortSignal,
): Promise<AssembleResult | Error> {
  await Deno.mkdir(dir);
  return await assembleRootfs(layers, dir, { worker: mode, signal }).catch((err) => err as Error);
}

/** Both modes on the stream source and this thread on the archive: the same rootfs and measurements. */
async function compareWithArchive(path: string, reference: string): Promise<void> {
  await withTempDir(async (dir) => {
    const source = await MemorySource.load(path);
    const streamed = await selectFrom(source);
    const archive = await open(reference, { platform: AMD64 });
    try {
      assert.deepEqual(streamed.config.digest, archive.config.digest);
      assert.deepEqual(streamed.manifest.digest, archive.manifest.digest);
      assert(streamed.layers.every((l) => l.blob.local === undefined), "the stream source offers no local range");
      const expected = await assembleInto(archive.layers, `${dir}/archive`, "never");
      assert(!(expected instanceof Error), `the archive assembles: ${expected}`);
      for (const mode of ["never", "always"] as const) {
        const opened = source.opened;
        const result = await assembleInto(streamed.layers, `${dir}/${mode}`, mode);
        assert(!(result instanceof Error), `${mode}: ${result}`);
        assert.deepEqual(result.readInWorker, mode === "always", `${mode}: read in the worker`);
        assert.deepEqual(result.layers, expected.layers, `${mode}: the same digests and sizes`);
        assert.deepEqual(fsManifest(`${dir}/${mode}`), fsManifest(`${dir}/archive`), `${mode}: the same rootfs`);
        assert.deepEqual(source.opened - opened, streamed.layers.length, `${mode}: each layer streamed once`);
      }
    } finally {
      archive.close();
    }
  });
}

for (const name of ["busybox.oci.tar", "busybox.zstd.oci.tar", "busybox.multiarch.oci.tar", "hardcases.oci.tar"]) {
  systemTest(
    `a stream-only source of ${name} assembles to the archive's rootfs, with and without the worker`,
    async () => {
      await compareWithArchive(`${FIXTURES}${name}`, `oci-archive:${FIXTURES}${name}`);
    },
  );
}

/** Three layers: gzip, an uncompressed one larger than the feed's window (back-pressure), zstd. */
async function bigImage(dir: string): Promise<void> {
  const noise = new Uint8Array(12 << 20);
  for (let at = 0; at < noise.length; at += 65536) crypto.getRandomValues(noise.subarray(at, at + 65536));
  const files = (prefix: string, n: number) =>
    Array.from({ length: n }, (_, i) => file(`${prefix}/f${i}`, `${prefix} ${i} `.repeat(1 + (i * 37) % 3000)));
  await writeOciDir(dir, [
    { tar: layerTar(files("a", 400)), compression: "gzip" },
    { tar: layerTar([file("big/noise", noise), file("big/after", "after")]), compression: "none" },
    { tar: layerTar(files("c", 400)), compression: "zstd" },
  ]);
}

systemTest(
  "a stream-only source with a layer larger than the worker feed's window assembles to the layout's rootfs",
  async () => {
    await withTempDir(async (dir) => {
      await bigImage(`${dir}/img`);
      await compareWithArchive(`${dir}/img`, `oci:${dir}/img`);
    });
  },
);

systemTest(
  "a flipped byte or a cut connection in a streamed layer fails that layer, on both paths, with the same error",
  async () => {
    await withTempDir(async (dir) => {
      await bigImage(`${dir}/img`);
      const source = await MemorySource.load(`${dir}/img`);
      const image = await selectFrom(source);
      const second = image.layers[1]!;
      const outcomes: Record<string, string> = {};
      source.faults.set(second.blob.digest!, { flipAt: 5 << 20 });
      for (const mode of ["never", "always"] as const) {
        const err = await assembleInto(image.layers, `${dir}/flip-${mode}`, mode);
        assert(err instanceof DigestMismatchError, `${mode}: ${err}`);
        assert.deepEqual(err.expected, second.blob.digest);
        outcomes[`flip ${mode}`] = err.message;
      }
      assert.deepEqual(outcomes["flip always"], outcomes["flip never"]);
      assert(outcomes["flip never"]!.startsWith("Cannot verify layer 2/3"), outcomes["flip never"]);
      source.faults.set(second.blob.digest!, { failAfter: 3 << 20, error: new Error("connection reset by peer") });
      for (const mode of ["never", "always"] as const) {
        const err = await assembleInto(image.layers, `${dir}/cut-${mode}`, mode);
        assert(err instanceof Error && err.message === "connection reset by peer", `${mode}: ${err}`);
        // Layer 1 was applied before the failure, layer 2 not finished, layer 3 not begun.
        assert(Deno.statSync(`${dir}/cut-${mode}/a/f0`).isFile, `${mode}: layer 1 was applied`);
      }
    });
  },
);

systemTest(
  "an abort in the middle of a streamed layer stops the assembly as interrupted and stops the transfer",
  async () => {
    await withTempDir(async (dir) => {
      await bigImage(`${dir}/img`);
      const source = await MemorySource.load(`${dir}/img`);
      const image = await selectFrom(source);
      for (const mode of ["never", "always"] as const) {
        const controller = new AbortController();
        source.faults.set(image.layers[1]!.blob.digest!, { onPull: (at) => at >= 3 << 20 && controller.abort() });
        const stopped = source.stopped;
        const err = await assembleInto(image.layers, `${dir}/${mode}`, mode, controller.signal);
        assert(
          err instanceof Oci2LxcError && err.code === "interrupted",
          `${mode}: expected an interruption, got ${err}`,
        );
        // With the worker the transfer runs ahead of the writer: layer 1 may still be being written.
        if (mode === "never") assert(err.message.includes("in layer 2/3"), err.message);
        assert.deepEqual(
          source.stopped - stopped,
          1,
          `${mode}: the transfer in progress was stopped (${source.stopped - stopped})`,
        );
      }
    });
  },
);
