/**
 * The CLI's cold registry convert where layers reach the layer worker as cached files (Blob.whenLocal) and the feed
 * starts while the worker loads, against a real registry with a multi-layer image large enough for the worker: two
 * converts at once into two DESTs with one empty cache (one downloads, the other waits on the blob locks, then reads
 * the files) give the same, right rootfs with each blob downloaded once; and a SIGINT at the very start (the first
 * layer's response held by the fault proxy, the feed running, the worker loading) exits 130 with nothing half-made,
 * nothing left in the cache's tmp/, and a next run that works.
 */
import assert from "node:assert/strict";
import { convert } from "../../core/api.ts";
import { fsManifest } from "../../core/rootfs/fs_manifest.ts";
import { withTempDir, writeOciDir } from "../_helpers/oci_builder.ts";
import { FaultProxy } from "../_helpers/fault_proxy.ts";
import { startRegistry, type TestRegistry } from "../_helpers/registry.ts";
import { file } from "../rootfs/_layers.ts";
import { layerTar } from "../rootfs/_oci_image.ts";
import { cli, ENTRIES, spawnCli } from "./_cli.ts";

function random(size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let at = 0; at < size; at += 65536) crypto.getRandomValues(bytes.subarray(at, at + 65536));
  return bytes;
}

/** An image of four layers, 9 MiB compressed in all (the worker reads from 8 MiB), pushed as `multi:1`. */
async function seedImage(registry: TestRegistry, dir: string): Promise<{ layers: string[]; local: string }> {
  const sizes = [6 << 20, 1 << 20, 1 << 20, 1 << 20];
  const built = await writeOciDir(
    `${dir}/image`,
    sizes.map((size, i) => ({ tar: layerTar([file(`layer${i}.bin`, random(size))]), compression: "gzip" as const })),
    { Cmd: ["/bin/sh"] },
  );
  await registry.push(`oci:${dir}/image:latest`, "multi:1");
  await convert(`oci:${dir}/image`, `${dir}/local`, { platform: "linux/amd64" });
  return { layers: built.layerDigests, local: `${dir}/local/rootfs` };
}

const listing = (dir: string) => [...Deno.readDirSync(dir)].map((e) => e.name).sort();

for (const entry of ENTRIES) {
  Deno.test(`[${entry}] two cold converts at once share one empty cache: each blob downloaded once, both right`, async () => {
    await using registry = await startRegistry("http");
    await withTempDir(async (dir) => {
      const { layers, local } = await seedImage(registry, dir);
      const before = registry.blobGets().length;
      const args = (dest: string) => [
        "convert",
        `docker://${registry.host}/multi:1`,
        dest,
        "--tls-verify=false",
        "--cache-dir",
        `${dir}/cache`,
        "--quiet",
      ];
      const [a, b] = await Promise.all([cli(entry, args(`${dir}/a`)), cli(entry, args(`${dir}/b`))]);
      assert.equal(a.code, 0, a.stderr);
      assert.equal(b.code, 0, b.stderr);
      const gets = registry.blobGets().slice(before);
      for (const layer of layers) assert.equal(gets.filter((d) => d === layer).length, 1, `${layer}: ${gets}`);
      assert.equal(gets.length, layers.length + 1, `the layers and the config, once each: ${gets}`);
      const expected = fsManifest(local);
      assert.deepEqual(fsManifest(`${dir}/a/rootfs`), expected);
      assert.deepEqual(fsManifest(`${dir}/b/rootfs`), expected);
      assert.deepEqual(listing(`${dir}/cache/tmp`), []);
    });
  });

  Deno.test(`[${entry}] SIGINT at the start of a cold convert (feed running, worker loading): 130, nothing left`, async () => {
    await using registry = await startRegistry("http");
    await withTempDir(async (dir) => {
      const { layers, local } = await seedImage(registry, dir);
      await using proxy = new FaultProxy(registry.host);
      proxy.add({ match: new RegExp(`^GET /v2/multi/blobs/${layers[0]}$`), fault: { kind: "hold", after: 100_000 } });
      await Deno.mkdir(`${dir}/out`);
      const args = ["--tls-verify=false", "--cache-dir", `${dir}/cache`, "--quiet"];
      const child = await spawnCli(entry, ["convert", `docker://${proxy.host}/multi:1`, `${dir}/out/d`, ...args]);
      try {
        // The first layer has begun to arrive (the feed reads it): the worker is loading or just loaded.
        await Promise.race([
          proxy.stalled,
          new Promise((_, reject) => setTimeout(() => reject(new Error("the first layer was never asked")), 60_000)),
        ]);
      } finally {
        child.kill("SIGINT");
      }
      const out = await child.output();
      const stderr = new TextDecoder().decode(out.stderr);
      assert.equal(out.code, 130, stderr);
      assert.match(stderr, /^error: Cannot .*interrupted/m);
      assert.deepEqual(listing(`${dir}/out`), [], "no staging directory and no DEST");
      // The downloads ahead were stopped and their partial files removed before the child exited.
      assert.deepEqual(
        listing(`${dir}/cache/tmp`),
        [],
        `no partial download left in the cache; ${stderr}; ${proxy.requests.join("; ")}`,
      );
      proxy.release();
      const again = await cli(entry, ["convert", `docker://${registry.host}/multi:1`, `${dir}/out/d`, ...args]);
      assert.equal(again.code, 0, again.stderr);
      assert.deepEqual(fsManifest(`${dir}/out/d/rootfs`), fsManifest(local));
    });
  });
}
