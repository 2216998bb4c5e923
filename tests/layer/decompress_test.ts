import assert from "node:assert/strict";
import { Oci2LxcError } from "../../core/errors.ts";
import { compressionOf, createDecompressor, sniffCompression } from "../../core/layer/decompress.ts";
import type { Compression } from "../../core/layer/decompressor.ts";
import { decodeInChunks, runTool, sampleData, sha256Hex } from "./_tools.ts";

Deno.test("compressionOf() maps every OCI and Docker layer media type", () => {
  const table: [string, Compression][] = [
    ["application/vnd.oci.image.layer.v1.tar", "none"],
    ["application/vnd.oci.image.layer.v1.tar+gzip", "gzip"],
    ["application/vnd.oci.image.layer.v1.tar+zstd", "zstd"],
    ["application/vnd.oci.image.layer.nondistributable.v1.tar", "none"],
    ["application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", "gzip"],
    ["application/vnd.oci.image.layer.nondistributable.v1.tar+zstd", "zstd"],
    ["application/vnd.docker.image.rootfs.diff.tar.gzip", "gzip"],
    ["application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", "gzip"],
    ["application/vnd.docker.image.rootfs.diff.tar", "none"],
  ];
  for (const [mediaType, compression] of table) {
    assert.equal(compressionOf(mediaType, "layer 1"), compression, mediaType);
  }
});

Deno.test("compressionOf() rejects an unknown media type naming it, the place and the supported ones", () => {
  for (
    const mediaType of [
      "application/vnd.oci.image.layer.v1.tar+bzip2",
      "application/vnd.oci.image.config.v1+json",
      "toString",
      "",
    ]
  ) {
    assert.throws(() => compressionOf(mediaType, "manifest layer 3"), (err) => {
      assert.ok(err instanceof Oci2LxcError);
      assert.equal(err.code, "image");
      assert.equal(
        err.message,
        `Cannot read manifest layer 3: media type ${JSON.stringify(mediaType)} is not a layer type oci2lxc reads`,
      );
      assert.match(
        err.hint ?? "",
        /application\/vnd\.oci\.image\.layer\.v1\.tar\+zstd/,
      );
      assert.match(
        err.hint ?? "",
        /application\/vnd\.docker\.image\.rootfs\.diff\.tar\.gzip/,
      );
      return true;
    });
  }
});

Deno.test("sniffCompression() recognises gzip and zstd magic and calls anything else none", async () => {
  const data = sampleData(1, 1_000, 0, 0);
  assert.equal(sniffCompression(await runTool("gzip", ["-c"], data)), "gzip");
  assert.equal(
    sniffCompression(await runTool("zstd", ["-q", "-c"], data)),
    "zstd",
  );
  assert.equal(sniffCompression(data), "none");
  assert.equal(sniffCompression(new Uint8Array([0x1f])), "none");
  assert.equal(sniffCompression(new Uint8Array([0x28, 0xb5, 0x2f])), "none");
  assert.equal(sniffCompression(new Uint8Array(0)), "none");
});

Deno.test("createDecompressor() returns a decompressor for each compression; none passes bytes through", async () => {
  const original = sampleData(2, 50_000, 50_000, 50_000);
  const inputs: Record<Compression, Uint8Array> = {
    gzip: await runTool("gzip", ["-c"], original),
    zstd: await runTool("zstd", ["-q", "-c"], original),
    none: original,
  };
  for (const compression of ["gzip", "zstd", "none"] as const) {
    const decoded = decodeInChunks(
      (sink) => createDecompressor(compression, sink, "layer 1"),
      inputs[compression],
      7,
    );
    assert.equal(decoded.sha256, sha256Hex(original), compression);
  }
  assert.throws(() => {
    const gunzip = createDecompressor(
      "gzip",
      () => {},
      "layer 9 (sha256:ab12cd34ef56)",
    );
    gunzip.finish();
  }, {
    message: "Cannot decompress layer 9 (sha256:ab12cd34ef56): gzip stream is empty",
  });
});
