/**
 * `convert` of `docker://` images through the blob cache, against the real registry (Debian's docker-registry on
 * 127.0.0.1), counted by the registry's own access log: a second convert downloads only the manifest; an image that
 * shares the base layer downloads only its new ones; a moved tag is noticed; `--pull=never` works with the registry
 * stopped; two conversions at once into two DESTs download each blob once; a cached blob corrupted on disk is dropped
 * and fetched again; layers cut at random offsets resume to a correct rootfs with no byte sent twice; a pull-through
 * mirror serves a convert. Every rootfs is compared with the one converted from the local fixture.
 */
import assert from "node:assert/strict";
import { convert, inspect } from "../../core/api.ts";
import { BlobCache } from "../../core/cache/blob_cache.ts";
import type { PullPolicy } from "../../core/cache/cache_dir.ts";
import type { RegistryOptions } from "../../core/open.ts";
import { fsManifest } from "../../core/rootfs/fs_manifest.ts";
import { withTempDir } from "../_helpers/oci_builder.ts";
import { startRegistry, type TestRegistry } from "../_helpers/registry.ts";
import { FaultProxy } from "../registry/_fault_proxy.ts";
import { FaultProxy as HoldProxy } from "../_helpers/fault_proxy.ts";
import { systemTest } from "../_helpers/tier.ts";

const FIXTURES = new URL("../../fixtures/images/", import.meta.url).pathname;
const BASE = "sha256:1e1101c055c7e933c198d9ef792d219c800dc59657fdb082e3fdd929a1e531f9";
const BASE_SIZE = 1088943;
const PLATFORM = "linux/amd64";

/** The rootfs of `fixture` converted from its local archive, for comparison. */
async function localRootfs(fixture: string, dir: string): Promise<ReturnType<typeof fsManifest>> {
  const dest = `${dir}/local-${fixture}-${crypto.randomUUID().slice(0, 8)}`;
  await convert(`oci-archive:${FIXTURES}${fixture}`, dest, { platform: PLATFORM });
  return fsManifest(`${dest}/rootfs`);
}

function options(cache: BlobCache | undefined, more: Partial<RegistryOptions> & { pull?: PullPolicy } = {}) {
  return { platform: PLATFORM, registry: { tlsVerify: false, cache, ...more } };
}

/** The manifest HEADs of the access log (by tag or digest). */
function manifestHeads(registry: TestRegistry): string[] {
  return registry.accessLog().filter((l) => /^HEAD \/v2\/.+\/manifests\//.test(l));
}

/** The manifest GETs of the access log (by tag or digest). */
function manifestGets(registry: TestRegistry): string[] {
  return registry.accessLog().filter((l) => /^GET \/v2\/.+\/manifests\//.test(l));
}

systemTest(
  "a second convert downloads nothing (a HEAD asks what the tag names); an image sharing the base layer only its new blobs",
  async () => {
    await using registry = await startRegistry("http");
    await registry.seed("busybox.oci.tar", "busybox:1");
    await registry.seed("whiteouts.oci.tar", "whiteouts:1");
    await withTempDir(async (dir) => {
      const cache = new BlobCache(`${dir}/cache`);
      const image = `docker://${registry.host}/busybox:1`;
      await convert(image, `${dir}/a`, options(cache));
      const first = registry.blobGets();
      assert(first.includes(BASE), `the first convert downloaded the layer: ${first}`);
      const manifests = manifestGets(registry).length;

      const heads = manifestHeads(registry).length;
      await convert(image, `${dir}/b`, options(cache));
      assert.deepEqual(registry.blobGets(), first, "the second convert downloaded no blob");
      // The tag is still asked for (it may have moved), with a HEAD: Docker Hub counts manifest GETs as pulls, not HEADs.
      assert.deepEqual(manifestHeads(registry).length, heads + 1, "asked what the tag names");
      assert.deepEqual(manifestGets(registry).length, manifests, "and read the manifest from the cache");
      assert.deepEqual(fsManifest(`${dir}/b/rootfs`), await localRootfs("busybox.oci.tar", dir));

      await convert(`docker://${registry.host}/whiteouts:1`, `${dir}/w`, options(cache));
      const added = registry.blobGets().slice(first.length);
      assert(!added.includes(BASE), `the shared base layer came from the cache: ${added}`);
      assert.deepEqual(added.length, 3, `the config and the two new layers: ${added}`);
      assert.deepEqual(fsManifest(`${dir}/w/rootfs`), await localRootfs("whiteouts.oci.tar", dir));
    });
  },
);

systemTest("a moved tag is noticed: the convert after it gives the new image", async () => {
  await using registry = await startRegistry("http");
  await registry.seed("busybox.oci.tar", "app:1");
  await withTempDir(async (dir) => {
    const cache = new BlobCache(`${dir}/cache`);
    const image = `docker://${registry.host}/app:1`;
    const before = await convert(image, `${dir}/a`, options(cache));
    await registry.seed("whiteouts.oci.tar", "app:1");
    const after = await convert(image, `${dir}/b`, options(cache));
    assert(before.image.manifestDigest !== after.image.manifestDigest, "another manifest");
    assert.deepEqual(fsManifest(`${dir}/b/rootfs`), await localRootfs("whiteouts.oci.tar", dir));
    assert.deepEqual(cache.image(`${registry.host}/app:1`)?.digest, after.image.manifestDigest, "the cache records it");
  });
});

systemTest(
  "--pull=never converts from the cache with the registry stopped; an uncached image is one clear error",
  async () => {
    await withTempDir(async (dir) => {
      const cache = new BlobCache(`${dir}/cache`);
      let image: string;
      {
        await using registry = await startRegistry("http");
        await registry.seed("busybox.oci.tar", "busybox:1");
        image = `docker://${registry.host}/busybox:1`;
        await convert(image, `${dir}/a`, options(cache));
      }
      // The registry is gone (its port closed): nothing may be asked of it.
      await convert(image, `${dir}/b`, options(cache, { pull: "never" }));
      assert.deepEqual(fsManifest(`${dir}/b/rootfs`), await localRootfs("busybox.oci.tar", dir));
      const other = image.replace("busybox:1", "busybox:2");
      const err = await convert(other, `${dir}/c`, options(cache, { pull: "never" })).then(() => undefined, (e) => e);
      assert(/Cannot resolve .*busybox:2 from the cache/.test(String(err?.message)), String(err));
      assert(!(await exists(`${dir}/c`)), "nothing at DEST");
    });
  },
);

systemTest(
  "two conversions of one image at once into two DESTs with an empty cache download each blob once",
  async () => {
    await using registry = await startRegistry("http");
    await registry.seed("hardcases.oci.tar", "hard:1");
    await withTempDir(async (dir) => {
      const image = `docker://${registry.host}/hard:1`;
      // Two caches objects over one directory, as two processes would have.
      await Promise.all([
        convert(image, `${dir}/a`, options(new BlobCache(`${dir}/cache`))),
        convert(image, `${dir}/b`, options(new BlobCache(`${dir}/cache`))),
      ]);
      const gets = registry.blobGets();
      assert.deepEqual(gets.length, new Set(gets).size, `each blob once: ${gets.join(" ")}`);
      assert.deepEqual(gets.length, 5, `the config and four layers: ${gets.join(" ")}`);
      const local = await localRootfs("hardcases.oci.tar", dir);
      assert.deepEqual(fsManifest(`${dir}/a/rootfs`), local);
      assert.deepEqual(fsManifest(`${dir}/b/rootfs`), local);
    });
  },
);

systemTest("a cached layer corrupted on disk is detected, dropped and downloaded again by convert", async () => {
  await using registry = await startRegistry("http");
  await registry.seed("busybox.oci.tar", "busybox:1");
  await withTempDir(async (dir) => {
    const cache = new BlobCache(`${dir}/cache`);
    const image = `docker://${registry.host}/busybox:1`;
    await convert(image, `${dir}/a`, options(cache));
    const gets = registry.blobGets().length;
    // One byte flipped in the middle, size unchanged.
    const path = cache.blobPath(BASE);
    const bytes = await Deno.readFile(path);
    bytes[bytes.length >> 1]! ^= 0xff;
    await Deno.writeFile(path, bytes);
    await convert(image, `${dir}/b`, options(cache));
    assert.deepEqual(registry.blobGets().slice(gets), [BASE], "the layer was fetched again, nothing else");
    assert.deepEqual(fsManifest(`${dir}/b/rootfs`), await localRootfs("busybox.oci.tar", dir));
    assert(cache.lookup(BASE) !== undefined, "and the cache holds a sound copy again");
  });
});

systemTest("layers cut at random offsets during convert resume to a correct rootfs, no byte sent twice", async () => {
  await using registry = await startRegistry("http");
  await registry.seed("busybox.oci.tar", "busybox:1");
  await using proxy = new FaultProxy(registry.host);
  const cuts = [...new Set(Array.from({ length: 3 }, () => 1 + Math.floor(Math.random() * (BASE_SIZE - 2))))].sort(
    (a, b) => a - b,
  );
  proxy.faults.cutAt = [...cuts];
  // The config is fetched first: the cuts are for the layer.
  proxy.faults.cutDigest = BASE;
  await withTempDir(async (dir) => {
    const cache = new BlobCache(`${dir}/cache`);
    await convert(`docker://${proxy.host}/busybox:1`, `${dir}/a`, options(cache));
    assert.deepEqual(fsManifest(`${dir}/a/rootfs`), await localRootfs("busybox.oci.tar", dir), `cuts at ${cuts}`);
    const requests = proxy.blobRequests.filter((r) => r.digest === BASE);
    assert.deepEqual(requests.map((r) => r.start), [0, ...cuts], `one request from 0, then one from each cut`);
    assert.deepEqual(requests.reduce((sum, r) => sum + r.sent, 0), BASE_SIZE, "bytes downloaded: the layer's, once");
    assert(cache.lookup(BASE) !== undefined, "the resumed layer is cached");
  });
});

systemTest(
  "a pull-through mirror serves convert; a second node reads from it without touching the registry",
  async () => {
    await using upstream = await startRegistry("http");
    await upstream.seed("busybox.oci.tar", "busybox:1");
    await using mirror = await startRegistry("http", { proxyRemoteUrl: `http://${upstream.host}` });
    await withTempDir(async (dir) => {
      const image = `docker://${upstream.host}/busybox:1`;
      const warnings: string[] = [];
      const viaMirror = { registryMirrors: [mirror.host] };
      const onWarning = (w: string) => warnings.push(w);
      await convert(image, `${dir}/a`, options(new BlobCache(`${dir}/cache-a`), { mirrors: viaMirror, onWarning }));
      assert.deepEqual(warnings, []);
      assert(mirror.blobGets().includes(BASE), "the mirror served the layer");
      assert.deepEqual(fsManifest(`${dir}/a/rootfs`), await localRootfs("busybox.oci.tar", dir));
      // distribution's proxy stores what it fetched in the background: wait (bounded) until it holds every blob, as a
      // fleet's second node would come later (tests/registry/mirrors_test.ts).
      const digests = [...new Set(mirror.blobGets())];
      const stored = (d: string) => {
        const hex = d.slice("sha256:".length);
        try {
          return Deno.statSync(`${mirror.dir}/storage/docker/registry/v2/blobs/sha256/${hex.slice(0, 2)}/${hex}/data`)
            .isFile;
        } catch {
          return false;
        }
      };
      for (let i = 0; i < 400 && !digests.every(stored); i++) await new Promise((r) => setTimeout(r, 25));
      assert(digests.every(stored), "the mirror stored every blob");
      const upstreamGets = upstream.blobGets().length;
      await convert(image, `${dir}/b`, options(new BlobCache(`${dir}/cache-b`), { mirrors: viaMirror }));
      assert.deepEqual(upstream.blobGets().length, upstreamGets, "the second node's blobs all came from the mirror");
      assert.deepEqual(fsManifest(`${dir}/b/rootfs`), await localRootfs("busybox.oci.tar", dir));
    });
  },
);

async function exists(path: string): Promise<boolean> {
  return await Deno.lstat(path).then(() => true, () => false);
}

systemTest(
  "--max-parallel: while the first layer is held, the next ones download into the cache (4), or wait (1)",
  async () => {
    await using registry = await startRegistry("http");
    await registry.seed("hardcases.oci.tar", "hard:1");
    const local = await withTempDir((dir) => localRootfs("hardcases.oci.tar", dir));
    for (const maxParallel of [4, 1]) {
      await using proxy = new HoldProxy(registry.host);
      proxy.add({
        match: new RegExp(`^GET /v2/hard/blobs/${BASE}$`),
        fault: { kind: "hold", after: 100_000 },
        times: 1,
      });
      await withTempDir(async (dir) => {
        const cache = new BlobCache(`${dir}/cache`);
        const converted = convert(`docker://${proxy.host}/hard:1`, `${dir}/a`, options(cache, { maxParallel }));
        await proxy.stalled;
        const others = (await layerDigests("hardcases.oci.tar")).filter((d) => d !== BASE);
        if (maxParallel === 4) {
          // Bounded wait: the three other layers arrive in the cache while the first one is held.
          for (let i = 0; i < 400 && !others.every((d) => cache.lookup(d)); i++) {
            await new Promise((r) => setTimeout(r, 25));
          }
          assert(others.every((d) => cache.lookup(d)), "the other layers downloaded while the first was held");
        } else {
          assert(others.every((d) => !cache.lookup(d)), "one at a time: nothing else was downloaded");
        }
        proxy.release();
        await converted;
        assert.deepEqual(fsManifest(`${dir}/a/rootfs`), local);
      });
    }
  },
);

/** The layer digests of a fixture, from its local archive. */
async function layerDigests(fixture: string): Promise<string[]> {
  const report = await inspect(`oci-archive:${FIXTURES}${fixture}`, { platform: PLATFORM });
  return report.layers.map((l) => l.digest!);
}
