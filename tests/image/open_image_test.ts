import assert from "node:assert/strict";
import { inspect, open, verify } from "../../core/api.ts";
import { Oci2LxcError } from "../../core/errors.ts";
import { parseReference } from "../../core/reference.ts";
import { FIXTURES, PROXMOX_FIXTURES } from "../_helpers/oci_builder.ts";

// One image saved in every form the tools write; skopeo reports the same config digest for each
// (fixtures/images/checks.txt), so we must too.
const BUSYBOX_CONFIG = "sha256:3413ea0cd15531b72d0fc837fdcc972795603e6d06366bbefe65cb9358b706e9";
const BUSYBOX_FORMS = [
  `oci-archive:${FIXTURES}busybox.oci.tar`,
  `docker-archive:${FIXTURES}busybox.docker.tar`,
  `docker-archive:${FIXTURES}busybox.docker.tar.gz`,
  `oci:${FIXTURES}busybox.oci-dir`,
  `oci-archive:${FIXTURES}busybox.zstd.oci.tar`,
  `oci-archive:${FIXTURES}busybox.uncompressed.oci.tar`,
  `oci-archive:${FIXTURES}busybox.multiarch.oci.tar`,
  `${FIXTURES}busybox.oci.tar`,
  `${FIXTURES}busybox.docker.tar`,
  `${FIXTURES}busybox.docker.tar.gz`,
  `${FIXTURES}busybox.oci-dir`,
];

for (const reference of BUSYBOX_FORMS) {
  Deno.test(`inspect() names the same config digest for ${reference.replace(FIXTURES, "")}`, async () => {
    const report = await inspect(reference, { platform: "linux/amd64" });
    assert.deepEqual(report.config.digest, BUSYBOX_CONFIG);
    assert.deepEqual(report.platform, "linux/amd64");
    assert.deepEqual(report.layers.length, 1);
    assert.deepEqual(report.config.fields.StopSignal, "SIGQUIT");
    assert.deepEqual(report.config.fields.User, "app");
  });
  Deno.test(`verify() passes on ${reference.replace(FIXTURES, "")}`, async () => {
    const report = await verify(reference, { platform: "linux/amd64" });
    assert.deepEqual(report.problems, []);
    assert(report.ok);
    assert.deepEqual(
      report.layers[0]!.diffId,
      "sha256:7cbd901a52cc3a2d66edd389003de2e61751a70e33be65dad720d46b39b28275",
    );
  });
}

Deno.test("open() selects the arm64/v8 manifest of a multi-platform index and skips the attestation", async () => {
  const image = await open(`oci-archive:${FIXTURES}busybox.multiarch.oci.tar`, { platform: "linux/arm64" });
  try {
    assert.deepEqual(image.platforms.map((p) => `${p.os}/${p.architecture}/${p.variant ?? ""}`), [
      "linux/amd64/",
      "linux/arm64/v8",
    ]);
    assert.deepEqual(image.platform.architecture, "arm64");
    assert.deepEqual(image.config.digest, "sha256:c3046799953d5076462755a29dbfc2b531e7997106d25dab026028c21d2f5b14");
    assert.deepEqual(image.index?.digest, "sha256:c90d0526ff5923acec2c1cde964dba5fff5e9793b0715d838ced65eaf9699f14");
  } finally {
    image.close();
  }
});

Deno.test("open() lists the offered platforms when none matches", async () => {
  await assert.rejects(() => open(`${FIXTURES}busybox.multiarch.oci.tar`, { platform: "linux/s390x" }), {
    name: "Oci2LxcError",
    code: "platform",
    message:
      `Cannot find an image for linux/s390x in archive ${FIXTURES}busybox.multiarch.oci.tar: it offers linux/amd64, linux/arm64/v8`,
  });
});

Deno.test("open() refuses a single-platform image for another platform, naming it", async () => {
  await assert.rejects(() => open(`${FIXTURES}busybox.oci.tar`, { platform: "linux/arm64" }), {
    name: "Oci2LxcError",
    code: "platform",
    message: /it offers linux\/amd64/,
  });
});

Deno.test("open() selects by ref name and lists the refs when the name is unknown", async () => {
  const image = await open(`oci-archive:${FIXTURES}busybox.oci.tar:latest`, { platform: "linux/amd64" });
  image.close();
  assert.deepEqual(image.refName, "latest");
  await assert.rejects(() => open(`oci-archive:${FIXTURES}busybox.oci.tar:nope`, { platform: "linux/amd64" }), {
    name: "Oci2LxcError",
    message: /^Cannot find image "nope" in archive .*"latest"/,
  });
});

Deno.test("open() selects a docker-archive image by index and by tag", async () => {
  const byIndex = await open(`docker-archive:${FIXTURES}busybox.docker.tar:@0`, { platform: "linux/amd64" });
  byIndex.close();
  assert.deepEqual(byIndex.config.digest, BUSYBOX_CONFIG);
  const tag = byIndex.refName!;
  const byTag = await open(`docker-archive:${FIXTURES}busybox.docker.tar:${tag}`, { platform: "linux/amd64" });
  byTag.close();
  assert.deepEqual(byTag.config.digest, BUSYBOX_CONFIG);
  await assert.rejects(
    () => open(`docker-archive:${FIXTURES}busybox.docker.tar:@7`, { platform: "linux/amd64" }),
    Oci2LxcError,
  );
});

Deno.test("open() removes the temporary file of a compressed archive on close()", async () => {
  const tempDir = Deno.makeTempDirSync();
  try {
    const image = await open(`${FIXTURES}busybox.docker.tar.gz`, { platform: "linux/amd64", tempDir });
    assert.deepEqual([...Deno.readDirSync(tempDir)].length, 1);
    image.close();
    assert.deepEqual([...Deno.readDirSync(tempDir)].length, 0);
  } finally {
    Deno.removeSync(tempDir, { recursive: true });
  }
});

const PROXMOX = [
  "oci_test_replace_dir_with_file.tar",
  "oci_test_replace_file.tar",
  "oci_test_replace_file_with_dir.tar",
  "oci_test_whiteout_current_directory.tar",
  "oci_test_whiteout_dead_symlink_parent.tar",
  "oci_test_whiteout_root_breakout.tar",
  "oci_test_whiteout_root_parent_breakout.tar",
  "oci_test_whiteout_symlink.tar",
];
for (const name of PROXMOX) {
  Deno.test(`verify() passes on Proxmox's ${name}`, async () => {
    const report = await verify(`${PROXMOX_FIXTURES}${name}`, { platform: "linux/amd64" });
    assert.deepEqual(report.problems, []);
    // Three of them list manifest layers in another order than config.rootfs.diff_ids.
    const reordered = ["oci_test_replace_dir_with_file.tar", "oci_test_whiteout_current_directory.tar"];
    assert.deepEqual(report.reordered, reordered.includes(name));
  });
}

Deno.test("parseReference() splits transport, path and ref, keeping colons of existing paths", () => {
  assert.deepEqual(parseReference("oci-archive:/x/y.tar:v1"), {
    transport: "oci-archive",
    path: "/x/y.tar",
    ref: "v1",
    text: "oci-archive:/x/y.tar:v1",
  });
  assert.deepEqual(parseReference("docker-archive:/x/y.tar:repo/app:1.2").ref, "repo/app:1.2");
  assert.deepEqual(parseReference("oci:dir").ref, undefined);
  assert.deepEqual(parseReference("plain.tar").transport, "auto");
  const dir = Deno.makeTempDirSync();
  try {
    Deno.writeFileSync(`${dir}/a:b.tar`, new Uint8Array());
    assert.deepEqual(parseReference(`oci-archive:${dir}/a:b.tar:tag`).path, `${dir}/a:b.tar`);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("parseReference() refuses an empty reference and URLs other than docker://, which is a registry", () => {
  assert.throws(
    () => parseReference(""),
    (err) => err instanceof Oci2LxcError && err.message.includes("Cannot parse image reference: it is empty"),
  );
  assert.throws(() => parseReference("https://busybox:latest"), (err) => {
    assert(err instanceof Oci2LxcError && err.code === "usage" && err.hint?.includes("docker://"));
    return true;
  });
  assert.deepEqual(parseReference("docker://busybox:latest").transport, "docker");
});
