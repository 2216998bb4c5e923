/**
 * `docker://` references through the library verbs, against a real registry in its three modes: `convert` gives the
 * same rootfs as converting the fixture the registry was seeded from (OCI, multi-platform index, zstd, Docker schema
 * 2), `inspect` reads the index, manifest and config and never a layer (the registry's access log says so), `verify`
 * streams and checks every layer; and through the fault proxy, dropped connections are resumed to the same rootfs,
 * while an endless 503 or a flipped byte in a layer ends in one clear error with nothing at DEST.
 */
import assert from "node:assert/strict";
import { convert, inspect, verify } from "../../core/api.ts";
import type { Oci2LxcError } from "../../core/errors.ts";
import type { RegistryOptions } from "../../core/open.ts";
import { parseCreds } from "../../core/registry/credentials.ts";
import { fsManifest } from "../../core/rootfs/fs_manifest.ts";
import { type Fault, FaultProxy } from "../_helpers/fault_proxy.ts";
import { startRegistry, type TestRegistry } from "../_helpers/registry.ts";
import { systemTest } from "../_helpers/tier.ts";

const FIXTURES = new URL("../../fixtures/images/", import.meta.url).pathname;
// From fixtures/images/checks.txt.
const BUSYBOX_MANIFEST = "sha256:91cb23fa479875d403f40e75523c3e3684e46fc6a4a4432d9ad9fef128793094";
const BUSYBOX_CONFIG = "sha256:3413ea0cd15531b72d0fc837fdcc972795603e6d06366bbefe65cb9358b706e9";
const LAYER = "sha256:1e1101c055c7e933c198d9ef792d219c800dc59657fdb082e3fdd929a1e531f9";

function access(registry: TestRegistry): RegistryOptions {
  if (registry.mode === "http") return { tlsVerify: false, env: {} };
  return { certDir: registry.certDir, creds: parseCreds(`${registry.user}:${registry.password}`), env: {} };
}

function listing(dir: string): string[] {
  return [...Deno.readDirSync(dir)].map((e) => e.name).sort();
}

async function rootfs(reference: string, dest: string, registry?: RegistryOptions): Promise<string> {
  await convert(reference, dest, { platform: "linux/amd64", ...(registry ? { registry } : {}) });
  return fsManifest(`${dest}/rootfs`);
}

for (const mode of ["http", "tls-basic", "token"] as const) {
  systemTest(`docker:// (${mode}): convert gives the archive's rootfs; inspect reads no layer`, async () => {
    await using registry = await startRegistry(mode);
    await registry.seed("busybox.oci.tar", "busybox:1");
    await registry.seed("busybox.multiarch.oci.tar", "multi:latest", { all: true });
    await registry.seed("busybox.zstd.oci.tar", "zstd:1");
    await registry.seed("busybox.oci.tar", "docker:v2s2", { format: "v2s2" });
    const options = access(registry);
    const dir = await Deno.makeTempDir({ prefix: "oci2lxc-docker-" });
    try {
      const before = registry.blobGets().length;
      const report = await inspect(`docker://${registry.host}/busybox:1`, {
        platform: "linux/amd64",
        registry: options,
      });
      assert.equal(report.manifest.digest, BUSYBOX_MANIFEST);
      assert.equal(report.transport, "docker");
      assert.deepEqual(registry.blobGets().slice(before), [BUSYBOX_CONFIG], "the config only, no layer");
      const multi = await inspect(`docker://${registry.host}/multi`, { platform: "linux/arm64", registry: options });
      assert.equal(multi.platform, "linux/arm64/v8");
      assert.ok(!registry.blobGets().includes(LAYER), registry.blobGets().join(" "));

      const expected = await rootfs(`oci-archive:${FIXTURES}busybox.oci.tar`, `${dir}/fixture`);
      for (const name of ["busybox:1", "multi", "zstd:1", "docker:v2s2"]) {
        const got = await rootfs(`docker://${registry.host}/${name}`, `${dir}/${name.replace(":", "-")}`, options);
        assert.equal(got, expected, name);
      }
      const byDigest = `docker://${registry.host}/busybox@${BUSYBOX_MANIFEST}`;
      assert.equal(await rootfs(byDigest, `${dir}/digest`, options), expected);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

Deno.test("docker://: verify streams and checks every layer, and lists a flipped byte as a mismatch", async () => {
  await using registry = await startRegistry("http");
  await registry.seed("busybox.oci.tar", "busybox:1");
  await using proxy = new FaultProxy(registry.host);
  proxy.add({ match: new RegExp(`^GET /v2/busybox/blobs/${LAYER}$`), fault: { kind: "flip", at: 4242 }, times: 1 });
  const options = { platform: "linux/amd64", registry: { tlsVerify: false, env: {} } };
  const bad = await verify(`docker://${proxy.host}/busybox:1`, options);
  assert.equal(bad.ok, false);
  assert.equal(bad.problems.length, 1, JSON.stringify(bad.problems));
  assert.match(bad.problems[0]!.message, new RegExp(LAYER.slice(7, 19)));
  const good = await verify(`docker://${proxy.host}/busybox:1`, options);
  assert.equal(good.ok, true, JSON.stringify(good.problems));
  assert.equal(good.layers[0]!.digest, LAYER);
});

/** Backoff shortened for tests. */
const RETRY = { baseDelayMs: 10, maxDelayMs: 50 };

systemTest(
  "docker://: a connection dropped every 300 kB of the layer is resumed each time, to the fixture's rootfs",
  async () => {
    await using registry = await startRegistry("http");
    await registry.seed("busybox.oci.tar", "busybox:1");
    await using proxy = new FaultProxy(registry.host);
    const layerGet = new RegExp(`^GET /v2/busybox/blobs/${LAYER}$`);
    proxy.add({ match: layerGet, fault: { kind: "drop", after: 300_000 } });
    const dir = await Deno.makeTempDir({ prefix: "oci2lxc-docker-" });
    try {
      const got = await rootfs(`docker://${proxy.host}/busybox:1`, `${dir}/ct`, {
        tlsVerify: false,
        env: {},
        retry: RETRY,
      });
      assert.equal(got, await rootfs(`oci-archive:${FIXTURES}busybox.oci.tar`, `${dir}/fixture`));
      // 1.1 MB in pieces of at most 300 kB: the first request and three resumes, each cut but the last.
      const gets = proxy.requests.filter((r) => layerGet.test(r.split(" → ")[0]!));
      assert.equal(gets.length, 4, gets.join("; "));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

const faults: { name: string; fault: Fault; code: string; message: RegExp }[] = [
  {
    name: "an endless 503 for the layer",
    fault: { kind: "503" },
    code: "registry",
    message:
      /Cannot read blob sha256:1e1101c0.* of 127\.0\.0\.1:\d+\/busybox: the registry answered 503.*; tried 5 times$/,
  },
  {
    name: "a flipped byte in the layer",
    fault: { kind: "flip", at: 99_999 },
    code: "digest",
    message: /sha256:1e1101c0/,
  },
];

for (const f of faults) {
  systemTest(`docker://: ${f.name} fails convert with one clear error and nothing at DEST`, async () => {
    await using registry = await startRegistry("http");
    await registry.seed("busybox.oci.tar", "busybox:1");
    await using proxy = new FaultProxy(registry.host);
    proxy.add({ match: new RegExp(`^GET /v2/busybox/blobs/${LAYER}$`), fault: f.fault });
    const dir = await Deno.makeTempDir({ prefix: "oci2lxc-docker-" });
    try {
      await assert.rejects(
        convert(`docker://${proxy.host}/busybox:1`, `${dir}/ct`, {
          platform: "linux/amd64",
          registry: { tlsVerify: false, env: {}, retry: RETRY },
        }),
        (err: Oci2LxcError) => {
          assert.equal(err.code, f.code, err.message);
          assert.match(err.message, f.message);
          return true;
        },
      );
      assert.deepEqual(listing(dir), [], proxy.requests.join("; "));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

systemTest(
  "docker://: while a layer is written, the next layer's transfer has started (bounded prefetch)",
  async () => {
    await using registry = await startRegistry("http");
    await registry.seed("whiteouts.oci.tar", "whiteouts:1");
    await using proxy = new FaultProxy(registry.host);
    // The first layer (busybox's) is held after 100 kB; the second is asked for while it waits.
    proxy.add({ match: new RegExp(`^GET /v2/whiteouts/blobs/${LAYER}$`), fault: { kind: "hold", after: 100_000 } });
    const second =
      /^GET \/v2\/whiteouts\/blobs\/sha256:f0cfe0d8121fdf7118b154baefea305dd17bca72673705ce3568b153bebc93f7$/;
    const dir = await Deno.makeTempDir({ prefix: "oci2lxc-docker-" });
    try {
      const converting = rootfs(`docker://${proxy.host}/whiteouts:1`, `${dir}/ct`, { tlsVerify: false, env: {} });
      converting.catch(() => {});
      await proxy.stalled;
      await proxy.seen(second);
      proxy.release();
      const got = await converting.catch((err) => {
        throw new Error(`${err.message}: ${proxy.requests.join("; ")}`);
      });
      assert.equal(got, await rootfs(`oci-archive:${FIXTURES}whiteouts.oci.tar`, `${dir}/fixture`));
      const gets = proxy.requests.filter((r) => r.startsWith("GET /v2/whiteouts/blobs/"));
      assert.equal(gets.length, 4, `config and three layers, each fetched once: ${gets.join("; ")}`);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);
