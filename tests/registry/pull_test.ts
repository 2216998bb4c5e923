/**
 * `pull` against a real registry (docker-registry 2.8) in its three modes: the copy is read by skopeo and umoci, gives
 * the same rootfs as the fixture it was seeded from when we convert it, keeps digests, picks platforms as skopeo does,
 * and leaves nothing at the target when it fails.
 */
import assert from "node:assert/strict";
import { convert } from "../../core/api.ts";
import type { Oci2LxcError } from "../../core/errors.ts";
import { pull, type PullOptions } from "../../core/pull.ts";
import { parseCreds } from "../../core/registry/credentials.ts";
import { fsManifest } from "../../core/rootfs/fs_manifest.ts";
import { startRegistry, type TestRegistry } from "../_helpers/registry.ts";
import { systemTest } from "../_helpers/tier.ts";

const FIXTURES = new URL("../../fixtures/images/", import.meta.url).pathname;
// From fixtures/images/checks.txt.
const BUSYBOX_MANIFEST = "sha256:91cb23fa479875d403f40e75523c3e3684e46fc6a4a4432d9ad9fef128793094";
const MULTIARCH_INDEX = "sha256:c90d0526ff5923acec2c1cde964dba5fff5e9793b0715d838ced65eaf9699f14";

async function tool(args: string[]): Promise<string> {
  const out = await new Deno.Command(args[0]!, { args: args.slice(1), stdout: "piped", stderr: "piped" }).output();
  const text = new TextDecoder();
  if (!out.success) throw new Error(`${args.join(" ")} failed: ${text.decode(out.stderr)}`);
  return text.decode(out.stdout);
}

/** The rootfs manifest of `reference` converted by us. */
async function rootfsOf(reference: string, dir: string, name: string): Promise<string> {
  await convert(reference, `${dir}/${name}`, { platform: "linux/amd64" });
  return fsManifest(`${dir}/${name}/rootfs`);
}

/** What a directory holds, to show that nothing was left behind. */
function listing(dir: string): string[] {
  return [...Deno.readDirSync(dir)].map((e) => e.name).sort();
}

function options(registry: TestRegistry, extra: PullOptions = {}): PullOptions {
  const base: PullOptions = { env: {}, platform: "linux/amd64", ...extra };
  if (registry.mode === "http") return { tlsVerify: false, ...base };
  return { certDir: registry.certDir, creds: parseCreds(`${registry.user}:${registry.password}`), ...base };
}

for (const mode of ["http", "tls-basic", "token"] as const) {
  systemTest(`pull (${mode}): skopeo and umoci read the copy, and it converts to the fixture's rootfs`, async () => {
    await using registry = await startRegistry(mode);
    await registry.seed("busybox.oci.tar", "busybox:1");
    const dir = await Deno.makeTempDir({ prefix: "oci2lxc-pull-" });
    try {
      const result = await pull(`docker://${registry.host}/busybox:1`, `oci-archive:${dir}/b.tar`, options(registry));
      assert.equal(result.digest, BUSYBOX_MANIFEST);
      assert.equal(result.refName, "1");
      assert.deepEqual(result.platforms, ["linux/amd64"]);
      assert.equal(result.blobs, 3);
      const raw = JSON.parse(await tool(["skopeo", "inspect", "--raw", `oci-archive:${dir}/b.tar:1`]));
      assert.equal(raw.mediaType, "application/vnd.oci.image.manifest.v1+json");
      await tool(["skopeo", "copy", "--quiet", `oci-archive:${dir}/b.tar:1`, `oci:${dir}/back:1`]);
      await tool(["umoci", "stat", "--image", `${dir}/back:1`]);
      assert.equal(
        await rootfsOf(`oci-archive:${dir}/b.tar`, dir, "pulled"),
        await rootfsOf(`oci-archive:${FIXTURES}busybox.oci.tar`, dir, "fixture"),
      );
      assert.deepEqual(listing(dir), ["b.tar", "back", "fixture", "pulled"]);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

systemTest("pull: from an index the host's or --platform's manifest, with --all the whole index", async () => {
  await using registry = await startRegistry("http");
  await registry.seed("busybox.multiarch.oci.tar", "multi:latest", { all: true });
  const dir = await Deno.makeTempDir({ prefix: "oci2lxc-pull-" });
  try {
    const ref = `docker://${registry.host}/multi`;
    const arm = await pull(ref, `oci-archive:${dir}/arm.tar`, options(registry, { platform: "linux/arm64" }));
    assert.deepEqual(arm.platforms, ["linux/arm64/v8"]);
    const index = JSON.parse(await tool(["tar", "-xOf", `${dir}/arm.tar`, "index.json"]));
    assert.equal(index.manifests.length, 1);
    assert.equal(index.manifests[0].digest, arm.digest);
    assert.equal(index.manifests[0].platform.architecture, "arm64");
    assert.equal(index.manifests[0].annotations["org.opencontainers.image.ref.name"], "latest");

    const all = await pull(ref, `oci:${dir}/all:multi`, options(registry, { all: true }));
    assert.equal(all.digest, MULTIARCH_INDEX);
    assert.deepEqual(all.platforms.sort(), ["linux/amd64", "linux/arm64/v8"]);
    await tool(["skopeo", "copy", "--quiet", "--all", `oci:${dir}/all:multi`, `oci:${dir}/again:x`]);
    // Our own reader picks a platform from the copied index.
    assert.equal(
      await rootfsOf(`oci:${dir}/all:multi`, dir, "pulled"),
      await rootfsOf(`oci-archive:${FIXTURES}busybox.multiarch.oci.tar`, dir, "fixture"),
    );

    await assert.rejects(pull(ref, `oci-archive:${dir}/s390x.tar`, options(registry, { platform: "linux/s390x" })), (
      err: Oci2LxcError,
    ) => {
      assert.equal(err.code, "platform");
      assert.match(err.message, /linux\/s390x .*offers linux\/amd64, linux\/arm64\/v8/);
      return true;
    });
    assert.ok(!listing(dir).some((n) => n.startsWith("s390x") || n.startsWith(".")), listing(dir).join(" "));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("pull: a Docker schema 2 image is written as the OCI manifest it maps to, which skopeo lists", async () => {
  await using registry = await startRegistry("http");
  await registry.seed("busybox.oci.tar", "docker:v2s2", { format: "v2s2" });
  const dir = await Deno.makeTempDir({ prefix: "oci2lxc-pull-" });
  try {
    const result = await pull(`docker://${registry.host}/docker:v2s2`, `oci:${dir}/d`, options(registry));
    assert.equal(result.mediaType, "application/vnd.oci.image.manifest.v1+json");
    const raw = JSON.parse(await tool(["skopeo", "inspect", "--raw", `oci:${dir}/d:v2s2`]));
    assert.equal(raw.config.mediaType, "application/vnd.oci.image.config.v1+json");
    assert.equal(raw.layers[0].mediaType, "application/vnd.oci.image.layer.v1.tar+gzip");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("pull: an existing layout directory keeps its images and gets the new one beside them", async () => {
  await using registry = await startRegistry("http");
  await registry.seed("busybox.oci.tar", "busybox:1");
  await registry.seed("busybox.zstd.oci.tar", "zstd:1");
  const dir = await Deno.makeTempDir({ prefix: "oci2lxc-pull-" });
  try {
    await pull(`docker://${registry.host}/busybox:1`, `oci:${dir}/layout:a`, options(registry));
    await pull(`docker://${registry.host}/zstd:1`, `oci:${dir}/layout:b`, options(registry));
    await pull(`docker://${registry.host}/busybox:1`, `oci:${dir}/layout:a`, options(registry));
    const index = JSON.parse(await Deno.readTextFile(`${dir}/layout/index.json`));
    assert.deepEqual(
      index.manifests.map((m: { annotations: Record<string, string> }) =>
        m.annotations["org.opencontainers.image.ref.name"]
      ),
      ["b", "a"],
    );
    await Deno.mkdir(`${dir}/empty`);
    await pull(`docker://${registry.host}/zstd:1`, `oci:${dir}/empty`, options(registry));
    await tool(["skopeo", "inspect", "--raw", `oci:${dir}/empty:1`]);
    await tool(["skopeo", "inspect", "--raw", `oci:${dir}/layout:a`]);
    await tool(["skopeo", "inspect", "--raw", `oci:${dir}/layout:b`]);
    assert.ok(!listing(`${dir}/layout`).some((n) => n.startsWith(".")), listing(`${dir}/layout`).join(" "));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("pull: a missing tag, wrong credentials or a file where a directory is wanted leave the target as it was", async () => {
  await using registry = await startRegistry("tls-basic");
  await registry.seed("busybox.oci.tar", "busybox:1");
  const dir = await Deno.makeTempDir({ prefix: "oci2lxc-pull-" });
  try {
    await Deno.writeTextFile(`${dir}/old.tar`, "old");
    await assert.rejects(
      pull(`docker://${registry.host}/busybox:2`, `oci-archive:${dir}/old.tar`, options(registry)),
      (err: Oci2LxcError) => err.code === "registry" && /has no tag "2".*"1"/.test(err.message),
    );
    const wrong = options(registry, { creds: parseCreds(`${registry.user}:nope`) });
    await assert.rejects(
      pull(`docker://${registry.host}/busybox:1`, `oci:${dir}/new`, wrong),
      (err: Oci2LxcError) => err.code === "registry" && !err.message.includes("nope"),
    );
    await assert.rejects(
      pull(`docker://${registry.host}/busybox:1`, `oci:${dir}/old.tar`, options(registry)),
      (err: Oci2LxcError) => err.code === "destination" && /not a directory/.test(err.message),
    );
    await Deno.mkdir(`${dir}/empty`);
    await assert.rejects(
      pull(`docker://${registry.host}/busybox:2`, `oci:${dir}/empty`, options(registry)),
      (err: Oci2LxcError) => err.code === "registry",
    );
    assert.deepEqual(listing(`${dir}/empty`), [], "an empty directory stays empty");
    assert.equal(await Deno.readTextFile(`${dir}/old.tar`), "old");
    assert.deepEqual(listing(dir), ["empty", "old.tar"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
