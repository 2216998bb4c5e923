/**
 * The cache in front of the real registry (Debian's docker-registry on 127.0.0.1, tests/_helpers/registry.ts): two
 * processes reading one image into an empty cache at once download each blob once between them, as the registry's
 * own access log counts; a third run downloads no blob at all.
 */
import assert from "node:assert/strict";
import { BlobCache } from "../../core/cache/blob_cache.ts";
import { cachingSource } from "../../core/cache/caching_source.ts";
import { RegistryClient } from "../../core/registry/registry_client.ts";
import { withTempDir } from "../_helpers/oci_builder.ts";
import { startRegistry } from "../_helpers/registry.ts";
import { readImage } from "./_read_image.ts";
import { registrySource } from "./_registry_source.ts";

Deno.test("two processes pulling one image at once download each blob once (registry access log); a third none", async () => {
  await using registry = await startRegistry("http");
  await registry.seed("busybox.multiarch.oci.tar", "busybox:multi", { all: true });
  await withTempDir(async (dir) => {
    await Deno.mkdir(`${dir}/ready`);
    const children = ["a", "b"].map((name) =>
      new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          new URL("./_cache_child.ts", import.meta.url).pathname,
          "registry",
          `${registry.host}/busybox:multi`,
          `${dir}/cache`,
          `${dir}/ready`,
          name,
        ],
        stdout: "piped",
        stderr: "inherit",
      }).output()
    );
    const results = (await Promise.all(children)).map((r) => {
      assert(r.success, "the child succeeded");
      return JSON.parse(new TextDecoder().decode(r.stdout)) as { opened: number; blobs: string[] };
    });
    assert.deepEqual(results[0]!.blobs, results[1]!.blobs);
    const gets = registry.blobGets();
    assert.deepEqual(gets.length, results[0]!.blobs.length, `each blob once: ${gets.join(" ")}`);
    assert.deepEqual(new Set(gets).size, gets.length);
    using client = new RegistryClient(registry.host, { tlsVerify: false });
    const { source, top } = await registrySource(client, "busybox", "multi");
    await readImage(cachingSource(source, new BlobCache(`${dir}/cache`)), [top]);
    assert.deepEqual(source.opened, 0, "the third run opened no blob");
    assert.deepEqual(registry.blobGets().length, gets.length, "and the registry served none");
  });
});
