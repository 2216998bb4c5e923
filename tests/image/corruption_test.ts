import assert from "node:assert/strict";
import { join } from "node:path";
import { inspect, verify } from "../../core/api.ts";
import { DigestMismatchError, Oci2LxcError } from "../../core/errors.ts";
import { compress, FIXTURES, flipByte, run, sha256, tarOf, withTempDir, writeOciDir } from "../_helpers/oci_builder.ts";

async function sampleTree(dir: string, name: string, size: number): Promise<string> {
  const root = join(dir, name);
  await Deno.mkdir(join(root, "etc"), { recursive: true });
  const content = new Uint8Array(size);
  for (let i = 0; i < size; i++) content[i] = (i * 7919) & 0xff;
  await Deno.writeFile(join(root, "etc", `${name}.bin`), content);
  await Deno.writeTextFile(join(root, "etc", "hello"), `hello from ${name}\n`);
  return root;
}

async function twoLayerImage(dir: string) {
  const a = await tarOf(await sampleTree(dir, "a", 200_000));
  const b = await tarOf(await sampleTree(dir, "b", 300_000));
  return writeOciDir(join(dir, "image"), [{ tar: a, compression: "gzip" }, { tar: b, compression: "zstd" }], {
    Cmd: ["/bin/true"],
  });
}

Deno.test("verify() reports every flipped layer at once, naming each layer and both digests", async () => {
  await withTempDir(async (dir) => {
    const image = await twoLayerImage(dir);
    await flipByte(image.layerPaths[0]!, 100);
    await flipByte(image.layerPaths[1]!, -10);
    const report = await verify(`oci:${image.dir}`, { platform: "linux/amd64" });
    assert.deepEqual(report.ok, false);
    assert.deepEqual(report.problems.length, 2);
    assert.deepEqual(report.problems[0]!.expected, image.layerDigests[0]);
    assert(report.problems[0]!.message.startsWith("Cannot verify layer 1/2"), report.problems[0]!.message);
    assert.deepEqual(report.problems[1]!.expected, image.layerDigests[1]);
    assert(report.problems[1]!.message.startsWith("Cannot verify layer 2/2"), report.problems[1]!.message);
  });
});

Deno.test("opening refuses a config or manifest whose bytes do not match the digest", async () => {
  await withTempDir(async (dir) => {
    const image = await twoLayerImage(dir);
    await flipByte(image.configPath, 5);
    const hashed = sha256(await Deno.readFile(image.configPath));
    await assert.rejects(() => inspect(`oci:${image.dir}`), (err) => {
      assert(err instanceof DigestMismatchError);
      assert.equal(err.message, `Cannot verify config ${image.configDigest}: the content hashes to ${hashed}`);
      return true;
    });
    await flipByte(image.configPath, 5);
    await flipByte(image.manifestPath, 5);
    await assert.rejects(
      () => inspect(`oci:${image.dir}`),
      (err) =>
        err instanceof DigestMismatchError && err.message.includes(`Cannot verify manifest ${image.manifestDigest}`),
    );
  });
});

Deno.test("opening names a deleted blob and the path it expected", async () => {
  await withTempDir(async (dir) => {
    const image = await twoLayerImage(dir);
    await Deno.remove(image.layerPaths[1]!);
    await assert.rejects(() => inspect(`oci:${image.dir}`), {
      name: "Oci2LxcError",
      message: `Cannot find layer 2 ${image.layerDigests[1]} in directory ${image.dir}: blobs/sha256/${
        image.layerDigests[1]!.slice(7)
      } is missing`,
    });
  });
});

Deno.test("opening names index.json when it is not JSON", async () => {
  await withTempDir(async (dir) => {
    const image = await twoLayerImage(dir);
    await Deno.writeTextFile(join(image.dir, "index.json"), '{"manifests": [');
    await assert.rejects(() => inspect(`oci:${image.dir}`), (err) => {
      assert(err instanceof Oci2LxcError);
      assert(err.message.startsWith(`Cannot parse index.json in directory ${image.dir}:`), err.message);
      return true;
    });
  });
});

Deno.test("opening a truncated archive says where it ends", async () => {
  await withTempDir(async (dir) => {
    const bytes = await Deno.readFile(`${FIXTURES}busybox.oci.tar`);
    const cut = join(dir, "cut.tar");
    await Deno.writeFile(cut, bytes.subarray(0, Math.floor(bytes.length / 2)));
    await assert.rejects(() => inspect(`oci-archive:${cut}`), (err) => {
      assert(err instanceof Oci2LxcError);
      assert(err.message.startsWith(`Cannot read ${cut}: the archive is truncated`), err.message);
      assert.equal(err.exitCode, 3);
      return true;
    });
  });
});

Deno.test("a flipped byte inside an archive's layer is found by verify()", async () => {
  await withTempDir(async (dir) => {
    const copy = join(dir, "busybox.tar");
    await Deno.copyFile(`${FIXTURES}busybox.oci.tar`, copy);
    const report0 = await inspect(`oci-archive:${copy}`);
    const layerDigest = report0.layers[0]!.digest!;
    // Find the layer blob's bytes in the archive and flip one in the middle.
    const bytes = await Deno.readFile(copy);
    const hex = layerDigest.slice(7);
    const nameAt = findBytes(bytes, new TextEncoder().encode(`blobs/sha256/${hex}`));
    assert(nameAt >= 0);
    const dataAt = nameAt + 512 + 1000;
    bytes[dataAt] = bytes[dataAt]! ^ 0x55;
    await Deno.writeFile(copy, bytes);
    const report = await verify(`oci-archive:${copy}`);
    assert.deepEqual(report.ok, false);
    assert.deepEqual(report.problems[0]!.expected, layerDigest);
  });
});

Deno.test("a multi-member gzip layer and a multi-frame zstd layer decompress fully and verify", async () => {
  await withTempDir(async (dir) => {
    const tar = await tarOf(await sampleTree(dir, "m", 3_000_000));
    const cut = 1_234_567;
    const gz = concat(await compress(tar.subarray(0, cut), "gzip"), await compress(tar.subarray(cut), "gzip"));
    const zst = concat(
      await compress(tar.subarray(0, cut), "zstd"),
      await compress(tar.subarray(cut, cut * 2), "zstd"),
      await compress(tar.subarray(cut * 2), "zstd"),
    );
    // The tools agree the streams are whole: gzip -dc and zstd -dc give back the tar.
    assert.deepEqual(sha256(await run(["gzip", "-dc"], gz)), sha256(tar));
    assert.deepEqual(sha256(await run(["zstd", "-dc"], zst)), sha256(tar));
    const image = await writeOciDir(join(dir, "image"), [
      { tar, compression: "gzip", blob: gz },
      { tar, compression: "zstd", blob: zst },
    ]);
    const report = await verify(`oci:${image.dir}`);
    assert.deepEqual(report.problems, []);
    assert.deepEqual(report.layers.map((l) => l.diffId), [sha256(tar), sha256(tar)]);
    assert.deepEqual(report.layers.map((l) => l.uncompressedSize), [tar.length, tar.length]);
  });
});

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function findBytes(haystack: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i <= haystack.length - needle.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}
