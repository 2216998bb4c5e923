/**
 * The layer worker (core/layer/layer_worker*.ts, chunk_ring.ts) against
 * reading on the main thread: for every fixture image and for damaged ones,
 * `assembleRootfs` with `worker: "always"` must give the same rootfs, the
 * same measurements and the same errors as with `worker: "never"`; and an
 * interruption must stop it.
 */
import assert from "node:assert/strict";
import { type AssembleResult, assembleRootfs, isReorderMismatch, reorderLayers } from "../../core/assemble.ts";
import { Oci2LxcError } from "../../core/errors.ts";
import type { Image } from "../../core/image/image.ts";
import {
  encodeErrorRecord,
  errorFromRecord,
  errorRecord,
  type LayerJob,
  RECORD_TEXT_MAX,
} from "../../core/layer/layer_job.ts";
import { LayerWorker } from "../../core/layer/layer_worker_client.ts";
import { layerJob } from "../../core/layer/read_layer.ts";
import { open } from "../../core/open.ts";
import { fsManifest } from "../../core/rootfs/fs_manifest.ts";
import { compress, FIXTURES, flipByte, PROXMOX_FIXTURES, withTempDir, writeOciDir } from "../_helpers/oci_builder.ts";
import { file, hardlink } from "../rootfs/_layers.ts";
import { layerTar } from "../rootfs/_oci_image.ts";
import { systemTest } from "../_helpers/tier.ts";

type Mode = "always" | "never";
/** Generous: a starved worker thread must not turn "ended" into "terminated" on a loaded machine. */
const GRACE_MS = 30_000;

/** Assemble `image` as the pipeline does (re-pairing reordered layers); the result, or the error's text. */
async function assemble(image: Image, rootfs: string, mode: Mode): Promise<AssembleResult | string> {
  const attempt = async (layers = image.layers) => {
    await Deno.remove(rootfs, { recursive: true }).catch(() => {});
    await Deno.mkdir(rootfs);
    return await assembleRootfs(layers, rootfs, { worker: mode });
  };
  try {
    try {
      return await attempt();
    } catch (err) {
      if (!isReorderMismatch(err, image)) throw err;
      return { ...(await attempt(await reorderLayers(image))), reordered: true };
    }
  } catch (err) {
    assert(err instanceof Oci2LxcError, `not an Oci2LxcError: ${err}`);
    return `${err.name} ${err.code}: ${err.message} | hint: ${err.hint}`;
  }
}

/** Both modes on `reference`: equal outcomes; returns the worker's. */
async function compareModes(reference: string): Promise<AssembleResult | string> {
  return await withTempDir(async (dir) => {
    const image = await open(reference);
    try {
      const thread = await assemble(image, `${dir}/thread`, "never");
      const worker = await assemble(image, `${dir}/worker`, "always");
      if (typeof thread === "string" || typeof worker === "string") {
        assert.deepEqual(worker, thread, `${reference}: the same error on both paths`);
        return worker;
      }
      assert.deepEqual(thread.readInWorker, false);
      assert.deepEqual(worker.readInWorker, true, "the worker really read the layers");
      assert.deepEqual({ ...worker, readInWorker: false }, thread);
      assert.deepEqual(fsManifest(`${dir}/worker`), fsManifest(`${dir}/thread`));
      return worker;
    } finally {
      image.close();
    }
  });
}

systemTest(
  "layer worker: every fixture image assembles to the same rootfs and digests as on the main thread",
  async (t) => {
    const references = [
      ...[...Deno.readDirSync(FIXTURES)]
        .filter((e) => /\.(tar|tar\.gz|oci-dir)$/.test(e.name))
        .map((e) => `${FIXTURES}${e.name}`),
      ...[...Deno.readDirSync(PROXMOX_FIXTURES)].filter((e) => e.name.endsWith(".tar")).map((e) =>
        `${PROXMOX_FIXTURES}${e.name}`
      ),
    ].sort();
    assert(references.length >= 15, `found only ${references.length} fixture images`);
    for (const reference of references) {
      await t.step(reference.replace(/.*\/fixtures\//, ""), async () => {
        const outcome = await compareModes(reference);
        assert(typeof outcome !== "string", `fixture failed: ${outcome}`);
      });
    }
  },
);

/** An OCI dir of two layers (gzip, zstd) with enough files to fill the ring many times over. */
async function twoLayerImage(dir: string): Promise<string[]> {
  const files = (prefix: string, n: number) =>
    Array.from({ length: n }, (_, i) => file(`${prefix}/f${i}`, `${prefix} ${i} `.repeat(1 + (i * 37) % 3000)));
  const built = await writeOciDir(dir, [
    { tar: layerTar(files("a", 800)), compression: "gzip" },
    { tar: layerTar(files("b", 800)), compression: "zstd" },
  ]);
  return built.layerPaths;
}

systemTest("layer worker: a flipped byte in either layer fails with the same error as on the main thread", async () => {
  await withTempDir(async (dir) => {
    const [first, second] = await twoLayerImage(`${dir}/img`);
    const clean = await compareModes(`oci:${dir}/img`);
    assert(typeof clean !== "string" && clean.layers.length === 2, `clean image: ${JSON.stringify(clean)}`);
    await flipByte(second!, 2000);
    const late = await compareModes(`oci:${dir}/img`);
    assert(typeof late === "string" && late.includes("layer 2/2"), late as string);
    await flipByte(first!, 100);
    const early = await compareModes(`oci:${dir}/img`);
    assert(typeof early === "string" && early.includes("layer 1/2"), early as string);
  });
});

systemTest(
  "layer worker: a layer whose content is not its diff_id fails with the same error as on the main thread, also when it cannot be applied",
  async () => {
    await withTempDir(async (dir) => {
      const files = (prefix: string, n: number) =>
        Array.from({ length: n }, (_, i) => file(`${prefix}/f${i}`, `${prefix} ${i} `.repeat(1 + (i * 37) % 3000)));
      const first = { tar: layerTar(files("a", 300)), compression: "gzip" as const };
      // The config's diff_id is that of `tar`; the blob (which matches its own digest) holds another tar.
      const claimed = layerTar(files("b", 300));
      for (
        const [name, actual] of [
          ["wrong-content", layerTar(files("c", 300))],
          // The same, and an entry that cannot be applied: the mismatch is what the user can act on, and wins.
          ["wrong-and-unappliable", layerTar([...files("c", 300), hardlink("c/link", "missing/target")])],
        ] as const
      ) {
        for (const compression of ["gzip", "zstd"] as const) {
          const img = `${dir}/${name}-${compression}`;
          await writeOciDir(img, [first, { tar: claimed, compression, blob: await compress(actual, compression) }]);
          const outcome = await compareModes(`oci:${img}`);
          assert(typeof outcome === "string", `${name}: assembled`);
          assert.match(
            outcome,
            /digest: Cannot verify layer 2\/2 \(sha256:[0-9a-f]{12}\): the uncompressed content's diff_id is sha256:/,
          );
        }
      }
    });
  },
);

systemTest("layer worker: an abort signal stops the assembly with an interrupted error", async () => {
  await withTempDir(async (dir) => {
    await twoLayerImage(`${dir}/img`);
    const image = await open(`oci:${dir}/img`);
    try {
      await Deno.mkdir(`${dir}/rootfs`);
      const controller = new AbortController();
      let chunks = 0;
      const err = await assembleRootfs(image.layers, `${dir}/rootfs`, {
        worker: "always",
        signal: controller.signal,
        onProgress: () => {
          if (++chunks === 2) controller.abort();
        },
      }).then(() => undefined, (e) => e);
      assert(err instanceof Oci2LxcError && err.code === "interrupted", `expected an interruption, got ${err}`);
    } finally {
      image.close();
    }
  });
});

/** The two-layer image opened, its jobs, and a worker started on them, for `use`. */
async function withWorker(
  use: (image: Image, jobs: LayerJob[], worker: LayerWorker) => Promise<void>,
): Promise<void> {
  await withTempDir(async (dir) => {
    await twoLayerImage(`${dir}/img`);
    const image = await open(`oci:${dir}/img`);
    try {
      const jobs = await Promise.all(image.layers.map((l) => layerJob(l, image.layers.length, true)));
      const worker = await LayerWorker.start(jobs);
      assert(worker, "the worker started");
      await use(image, jobs, worker);
    } finally {
      image.close();
    }
  });
}

Deno.test("layer worker: cancelled in the middle of a layer, the worker ends by itself (decompressor closed), not killed", async () => {
  await withWorker(async (_image, _jobs, worker) => {
    let chunks = 0;
    const err = await worker.read(() => {
      if (++chunks === 2) throw new Oci2LxcError("interrupted", "Cannot finish the conversion: interrupted");
    }).then(() => undefined, (e) => e);
    assert(err instanceof Oci2LxcError && err.code === "interrupted", `expected an interruption, got ${err}`);
    assert.deepEqual(chunks, 2, "the sink was not called after it threw");
    assert.deepEqual(await worker.close(GRACE_MS), "ended");
    assert.deepEqual(await worker.close(GRACE_MS), "ended", "close is safe twice");
  });
});

Deno.test("layer worker: after the last layer the worker has ended; an aborted signal starts none", async () => {
  await withWorker(async (image, jobs, worker) => {
    let bytes = 0;
    for (const layer of image.layers) {
      const result = await worker.read((chunk) => bytes += chunk.length);
      assert.deepEqual(result.diffId, layer.diffId);
    }
    assert(bytes > 0);
    assert.deepEqual(await worker.close(GRACE_MS), "ended");
    const controller = new AbortController();
    controller.abort();
    assert.deepEqual(await LayerWorker.start(jobs, controller.signal), undefined);
  });
});

Deno.test("layer worker: an error record with a huge message still fits one ring slot and keeps its head", () => {
  const huge = `Cannot write usr/x: ${"y".repeat(1 << 20)}`;
  const bytes = encodeErrorRecord(
    errorRecord(new Oci2LxcError("rootfs", huge, { cause: new Error("z".repeat(1 << 20)) }), false),
  );
  assert(bytes.length < 64 << 10, `${bytes.length} bytes`);
  // The worst case: control characters, which JSON writes as six bytes each, in all three texts.
  const control = "\u0001".repeat(1 << 20);
  const worst = encodeErrorRecord({
    kind: "oci2lxc",
    code: "rootfs",
    message: control,
    cause: control,
    hint: control,
    atFinish: false,
  });
  assert(worst.length <= 256 << 10, `${worst.length} bytes: more than one ring slot`);
  const back = errorFromRecord(JSON.parse(new TextDecoder().decode(bytes)));
  assert(back instanceof Oci2LxcError && back.code === "rootfs");
  assert(back.message.startsWith("Cannot write usr/x: yyy"), back.message.slice(0, 40));
  assert(back.message.endsWith(`(${huge.length - RECORD_TEXT_MAX} more characters)`), back.message.slice(-60));
  assert(back.cause instanceof Error && back.cause.message.length < 20_000);
});

systemTest(
  "layer worker: a layer that verifies but cannot be applied fails with the same error as on the main thread",
  async () => {
    await withTempDir(async (dir) => {
      const many = Array.from({ length: 400 }, (_, i) => file(`a/f${i}`, `${i} `.repeat(500)));
      // Digests are right; the hardlink names a target no layer has, found after many chunks have gone through.
      await writeOciDir(`${dir}/img`, [
        { tar: layerTar([...many, hardlink("a/link", "missing/target")]), compression: "gzip" },
        { tar: layerTar(many), compression: "zstd" },
      ]);
      const outcome = await compareModes(`oci:${dir}/img`);
      assert(typeof outcome === "string" && outcome.includes("layer 1/2") && outcome.includes("a/link"), `${outcome}`);
    });
  },
);
