/**
 * `pull` through the blob cache against the real registry: a second pull downloads no blob and writes the same
 * archive, which verifies; `--pull=never` pulls with the registry stopped; a cached layer corrupted on disk is dropped
 * and fetched again, never copied.
 */
import assert from "node:assert/strict";
import { pull, verify } from "../../core/api.ts";
import { BlobCache } from "../../core/cache/blob_cache.ts";
import { withTempDir } from "../_helpers/oci_builder.ts";
import { startRegistry } from "../_helpers/registry.ts";

const BASE = "sha256:1e1101c055c7e933c198d9ef792d219c800dc59657fdb082e3fdd929a1e531f9";

Deno.test("pull through the cache: the second pull downloads no blob, --pull=never works offline, both verify", async () => {
  await withTempDir(async (dir) => {
    const cache = new BlobCache(`${dir}/cache`);
    const common = { platform: "linux/amd64", tlsVerify: false, cache };
    let image: string;
    {
      await using registry = await startRegistry("http");
      await registry.seed("whiteouts.oci.tar", "w:1");
      image = `docker://${registry.host}/w:1`;
      const first = await pull(image, `oci-archive:${dir}/a.tar`, common);
      const gets = registry.blobGets();
      assert.deepEqual(gets.length, 4, `the config and three layers: ${gets}`);
      const second = await pull(image, `oci-archive:${dir}/b.tar`, common);
      assert.deepEqual(registry.blobGets(), gets, "the second pull downloaded no blob");
      assert.deepEqual(second.digest, first.digest);
      assert.deepEqual(await Deno.readFile(`${dir}/b.tar`), await Deno.readFile(`${dir}/a.tar`), "the same archive");
    }
    const offline = await pull(image, `oci-archive:${dir}/c.tar`, { ...common, pull: "never" });
    assert.deepEqual(offline.blobs, 5);
    for (const name of ["a", "c"]) {
      const report = await verify(`oci-archive:${dir}/${name}.tar`, { platform: "linux/amd64" });
      assert(report.ok, JSON.stringify(report.problems));
    }
  });
});

Deno.test("pull: a cached layer corrupted on disk is fetched again, and the archive verifies", async () => {
  await using registry = await startRegistry("http");
  await registry.seed("busybox.oci.tar", "busybox:1");
  await withTempDir(async (dir) => {
    const cache = new BlobCache(`${dir}/cache`);
    const common = { platform: "linux/amd64", tlsVerify: false, cache };
    const image = `docker://${registry.host}/busybox:1`;
    await pull(image, `oci-archive:${dir}/a.tar`, common);
    const gets = registry.blobGets().length;
    const bytes = await Deno.readFile(cache.blobPath(BASE));
    bytes[bytes.length >> 1]! ^= 0xff;
    await Deno.writeFile(cache.blobPath(BASE), bytes);
    await pull(image, `oci-archive:${dir}/b.tar`, common);
    assert.deepEqual(registry.blobGets().slice(gets), [BASE]);
    const report = await verify(`oci-archive:${dir}/b.tar`, { platform: "linux/amd64" });
    assert(report.ok, JSON.stringify(report.problems));
  });
});
