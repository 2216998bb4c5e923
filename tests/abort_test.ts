/**
 * Scripts stop a conversion or a verification with an AbortSignal: the
 * promise rejects with an "interrupted" Oci2LxcError and nothing is left.
 */
import assert from "node:assert/strict";
import { readLayer } from "../core/layer/read_layer.ts";
import { convert, inspect, Oci2LxcError, open, verify } from "../mod.ts";
import { FIXTURES, withTempDir, writeOciDir } from "./_helpers/oci_builder.ts";

Deno.test("convert() with a signal aborted mid-layer rejects as interrupted and leaves neither DEST nor staging", async () => {
  await withTempDir(async (dir) => {
    const controller = new AbortController();
    let layerProgress = 0;
    const err = await convert(`oci-archive:${FIXTURES}busybox.oci.tar`, `${dir}/ct`, {
      allowApproximate: true,
      signal: controller.signal,
      onProgress: (p) => {
        // The first report of a layer comes before its bytes: abort then, so the stop lands mid-layer.
        if (p.stage === "assemble" && ++layerProgress === 1) controller.abort();
      },
    }).then(() => undefined, (e) => e);
    assert(err instanceof Oci2LxcError, `expected an Oci2LxcError, got ${err}`);
    assert.deepEqual(err.code, "interrupted");
    assert(/^Cannot finish the conversion: interrupted in layer 1\/1 /.test(err.message), err.message);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), []);
  });
});

Deno.test("verify() with an aborted signal rejects as interrupted instead of reporting a problem", async () => {
  const controller = new AbortController();
  controller.abort();
  const err = await verify(`oci-archive:${FIXTURES}busybox.oci.tar`, { signal: controller.signal }).then(
    () => undefined,
    (e) => e,
  );
  assert(err instanceof Oci2LxcError && err.code === "interrupted", `expected an interruption, got ${err}`);
  assert(/^Cannot finish the verification: interrupted in layer 1\/1 /.test(err.message), err.message);
});

Deno.test("readLayer() stops on its check also while the rest of a damaged blob is only hashed", async () => {
  await withTempDir(async (dir) => {
    // A gzip header, a deflate block of the reserved type 3 (0x07: final, type 3), then 4 MiB of
    // noise: decompression fails at its first byte, with no output; hashing goes on to the end.
    const blob = new Uint8Array(4 << 20);
    for (let at = 0; at < blob.length; at += 65536) crypto.getRandomValues(blob.subarray(at, at + 65536));
    blob.set([0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0, 0x03, 0x07]);
    await writeOciDir(`${dir}/img`, [{ tar: new Uint8Array(1024), compression: "gzip", blob }]);
    const image = await open(`oci:${dir}/img`);
    try {
      let checks = 0;
      let sunk = 0;
      const err = await readLayer(image.layers[0]!, 1, (chunk) => sunk += chunk.length, {
        check: () => {
          if (++checks === 4) throw new Oci2LxcError("interrupted", "Cannot finish: interrupted");
        },
      }).then(() => undefined, (e) => e);
      assert(err instanceof Oci2LxcError && err.code === "interrupted", `expected an interruption, got ${err}`);
      assert.deepEqual(sunk, 0, "nothing was decompressed: the stop came while only hashing");
    } finally {
      image.close();
    }
  });
});

Deno.test("inspect() with an aborted signal stops while a compressed archive is unpacked and leaves no temporary file", async () => {
  await withTempDir(async (dir) => {
    const controller = new AbortController();
    controller.abort();
    const err = await inspect(`${FIXTURES}busybox.docker.tar.gz`, { signal: controller.signal, tempDir: dir }).then(
      () => undefined,
      (e) => e,
    );
    assert(err instanceof Oci2LxcError && err.code === "interrupted", `expected an interruption, got ${err}`);
    assert(err.message.includes("while unpacking it"), err.message);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), []);
  });
});
