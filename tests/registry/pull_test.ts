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
import { ownerTag } from "../../core/rootfs/owner_tag.ts";
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
      pull(
        `docker://${registry.host}/busybox:2`,
        `oci-archive:${dir}/old.tar`,
        options(registry, { force: true, replaceAny: true }),
      ),
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

Deno.test("pull: an existing oci-archive FILE is replaced only with --force, and only an OCI archive without --replace-any", async () => {
  await using registry = await startRegistry("http");
  await registry.seed("busybox.oci.tar", "busybox:1");
  const dir = await Deno.makeTempDir({ prefix: "oci2lxc-pull-" });
  const image = `docker://${registry.host}/busybox:1`;
  const refused = (message: RegExp) => (err: Oci2LxcError) => err.code === "destination" && message.test(err.message);
  try {
    // A file that is no archive (as /etc/passwd would be): not without --force, not with --force alone.
    await Deno.writeTextFile(`${dir}/passwd`, "root:x:0:0:root:/root:/bin/sh\n");
    await assert.rejects(pull(image, `oci-archive:${dir}/passwd`, options(registry)), refused(/already exists/));
    await assert.rejects(
      pull(image, `oci-archive:${dir}/passwd`, options(registry, { force: true })),
      refused(/not an OCI archive/),
    );
    assert.equal(await Deno.readTextFile(`${dir}/passwd`), "root:x:0:0:root:/root:/bin/sh\n");
    await assert.rejects(
      pull(image, `oci-archive:${dir}/passwd`, options(registry, { replaceAny: true })),
      (err: Oci2LxcError) => err.code === "usage" && /--replace-any without --force/.test(err.message),
    );
    // A symlink is replaced as a link only with --replace-any; what it leads to is never written.
    await Deno.symlink(`${dir}/passwd`, `${dir}/link.tar`);
    await assert.rejects(
      pull(image, `oci-archive:${dir}/link.tar`, options(registry, { force: true })),
      refused(/symbolic link/),
    );
    // A FIFO is never replaced, whatever the flags.
    await new Deno.Command("mkfifo", { args: [`${dir}/fifo`] }).output();
    await assert.rejects(
      pull(image, `oci-archive:${dir}/fifo`, options(registry, { force: true, replaceAny: true })),
      refused(/a FIFO, not an OCI archive/),
    );
    // oci:DIR: a directory that is neither empty nor a layout is refused (an existing layout gets the image beside).
    await Deno.mkdir(`${dir}/home`);
    await Deno.writeTextFile(`${dir}/home/notes`, "mine");
    await assert.rejects(pull(image, `oci:${dir}/home`, options(registry)), refused(/a directory but no OCI layout/));
    assert.deepEqual(listing(`${dir}/home`), ["notes"]);
    // An OCI archive is replaced with --force; any file with --force --replace-any.
    await pull(image, `oci-archive:${dir}/b.tar`, options(registry));
    await assert.rejects(pull(image, `oci-archive:${dir}/b.tar`, options(registry)), refused(/already exists/));
    await pull(image, `oci-archive:${dir}/b.tar:again`, options(registry, { force: true }));
    await tool(["skopeo", "inspect", "--raw", `oci-archive:${dir}/b.tar:again`]);
    await pull(image, `oci-archive:${dir}/link.tar`, options(registry, { force: true, replaceAny: true }));
    assert.ok(!Deno.lstatSync(`${dir}/link.tar`).isSymlink, "the link itself was replaced");
    assert.equal(await Deno.readTextFile(`${dir}/passwd`), "root:x:0:0:root:/root:/bin/sh\n");
    assert.deepEqual(listing(dir), ["b.tar", "fifo", "home", "link.tar", "passwd"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("pull: what a killed pull left beside FILE or inside a layout is removed by the next pull, a live one's is kept", async () => {
  await using registry = await startRegistry("http");
  await registry.seed("busybox.oci.tar", "busybox:1");
  const dir = await Deno.makeTempDir({ prefix: "oci2lxc-pull-" });
  const image = `docker://${registry.host}/busybox:1`;
  try {
    await pull(image, `oci:${dir}/layout:a`, options(registry));
    const blobs = `${dir}/layout/blobs/sha256`;
    const deadTar = `${dir}/.b.tar.oci2lxc-pull-999999-1-0badcafe`;
    const deadDir = `${dir}/.layout.oci2lxc-pull-999999-1-0badcafe`;
    const deadIndex = `${dir}/layout/.index.json.oci2lxc-pull-999999-1-0badcafe`;
    const deadBlob = `${blobs}/.${"ab".repeat(32)}.oci2lxc-pull-999999-1-0badcafe`;
    const live = `${dir}/.b.tar.oci2lxc-pull-${ownerTag()}-0badcafe`;
    for (const f of [deadTar, deadIndex, deadBlob, live]) await Deno.writeTextFile(f, "partial");
    await Deno.mkdir(`${deadDir}/blobs`, { recursive: true });
    const warnings: string[] = [];
    await pull(image, `oci-archive:${dir}/b.tar`, options(registry, { onWarning: (w) => warnings.push(w) }));
    await pull(image, `oci:${dir}/layout:a`, options(registry, { onWarning: (w) => warnings.push(w) }));
    for (const f of [deadTar, deadIndex, deadBlob]) {
      assert.ok(
        warnings.some((w) => w.startsWith(`removed ${f}, a partial pull left by an earlier run`)),
        warnings.join("\n"),
      );
    }
    assert.ok(warnings.some((w) => w.startsWith(`removed ${deadDir}, a partial pull`)), warnings.join("\n"));
    assert.deepEqual(listing(dir), [live.slice(dir.length + 1), "b.tar", "layout"], "a live pull's file stays");
    assert.ok(!listing(blobs).some((n) => n.startsWith(".")), listing(blobs).join(" "));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
