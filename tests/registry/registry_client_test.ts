/**
 * The registry client against a real registry (docker-registry 2.8, anonymous http): every kind of manifest, blobs
 * streamed and checked, ranges, missing tags and repositories, schema 1 refused, a changed byte caught.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { DigestMismatchError, Oci2LxcError } from "../../core/errors.ts";
import { RegistryClient } from "../../core/registry/registry_client.ts";
import { startRegistry, type TestRegistry } from "../_helpers/registry.ts";

const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX = "application/vnd.oci.image.index.v1+json";
const DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
const DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json";
const ACCEPT = [OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_LIST];
// From fixtures/images/checks.txt (what skopeo reported for the fixtures).
const BUSYBOX_MANIFEST = "sha256:91cb23fa479875d403f40e75523c3e3684e46fc6a4a4432d9ad9fef128793094";
const BUSYBOX_CONFIG = "sha256:3413ea0cd15531b72d0fc837fdcc972795603e6d06366bbefe65cb9358b706e9";
const MULTIARCH_INDEX = "sha256:c90d0526ff5923acec2c1cde964dba5fff5e9793b0715d838ced65eaf9699f14";
const ZSTD_MANIFEST = "sha256:07436514290d8dbbf1fffa210e9be0c34dad6d03a7e2585fdea59a0d6c0c8553";

const sha256 = (bytes: Uint8Array) => `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
const json = (bytes: Uint8Array) => JSON.parse(new TextDecoder().decode(bytes));

async function readAll(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

async function seeded(): Promise<TestRegistry> {
  const registry = await startRegistry("http");
  await registry.seed("busybox.oci.tar", "busybox:latest");
  await registry.seed("busybox.multiarch.oci.tar", "multi:latest", { all: true });
  await registry.seed("busybox.zstd.oci.tar", "zstd:latest");
  await registry.seed("busybox.oci.tar", "docker:v2s2", { format: "v2s2" });
  await registry.seed("busybox.oci.tar", "old:s1", { format: "v2s1" });
  return registry;
}

const client = (registry: TestRegistry) => new RegistryClient(registry.host, { tlsVerify: false, env: {} });

Deno.test("RegistryClient reads OCI manifests, indexes, zstd images and Docker schema 2 from a real registry", async () => {
  await using registry = await seeded();
  using c = client(registry);
  const oci = await c.getManifest("busybox", "latest", ACCEPT);
  assert.equal(oci.mediaType, OCI_MANIFEST);
  assert.equal(oci.digest, BUSYBOX_MANIFEST);
  assert.equal(sha256(oci.bytes), BUSYBOX_MANIFEST);
  assert.equal(json(oci.bytes).config.digest, BUSYBOX_CONFIG);

  const index = await c.getManifest("multi", "latest", ACCEPT);
  assert.equal(index.mediaType, OCI_INDEX);
  assert.equal(index.digest, MULTIARCH_INDEX);
  const arm = json(index.bytes).manifests.find((m: { platform: { architecture: string } }) =>
    m.platform.architecture === "arm64"
  );
  const byDigest = await c.getManifest("multi", arm.digest, ACCEPT);
  assert.equal(byDigest.digest, arm.digest);
  assert.equal(byDigest.bytes.length, arm.size);

  const zstd = await c.getManifest("zstd", "latest", ACCEPT);
  assert.equal(zstd.digest, ZSTD_MANIFEST);
  assert.equal(json(zstd.bytes).layers[0].mediaType, "application/vnd.oci.image.layer.v1.tar+zstd");

  const docker = await c.getManifest("docker", "v2s2", ACCEPT);
  assert.equal(docker.mediaType, DOCKER_MANIFEST);
  assert.equal(docker.digest, sha256(docker.bytes));
  assert.equal(json(docker.bytes).config.digest, BUSYBOX_CONFIG);
  // By digest: the same bytes, checked.
  assert.deepEqual((await c.getManifest("docker", docker.digest, ACCEPT)).bytes, docker.bytes);
});

Deno.test("RegistryClient streams blobs checked against their digests, and reads from an offset", async () => {
  await using registry = await seeded();
  using c = client(registry);
  const manifest = json((await c.getManifest("busybox", "latest", ACCEPT)).bytes);
  const layer = manifest.layers[0];
  const whole = await c.getBlob("busybox", layer.digest, { size: layer.size });
  assert.equal(whole.size, layer.size);
  assert.equal(whole.offset, 0);
  const bytes = await readAll(whole.stream);
  assert.equal(bytes.length, layer.size);
  assert.equal(sha256(bytes), layer.digest);

  const config = await c.getBlob("busybox", manifest.config.digest);
  assert.equal(sha256(await readAll(config.stream)), BUSYBOX_CONFIG);

  const tail = await c.getBlob("busybox", layer.digest, { offset: 1000 });
  assert.equal(tail.offset, 1000);
  assert.equal(tail.size, layer.size);
  assert.deepEqual(await readAll(tail.stream), bytes.subarray(1000));

  assert.deepEqual(await c.headBlob("busybox", layer.digest), { size: layer.size });
  assert.equal(await c.headBlob("busybox", `sha256:${"0".repeat(64)}`), undefined);
  assert.deepEqual(registry.blobGets(), [layer.digest, manifest.config.digest, layer.digest]);
});

Deno.test("RegistryClient tells a missing tag from a missing repository, and a missing blob", async () => {
  await using registry = await seeded();
  using c = client(registry);
  await assert.rejects(c.getManifest("busybox", "nope", ACCEPT), (err: unknown) => {
    assert.ok(err instanceof Oci2LxcError && err.code === "registry", String(err));
    assert.equal(
      err.message,
      `Cannot read manifest nope of ${registry.host}/busybox: the repository has no tag "nope" ` +
        '(404 MANIFEST_UNKNOWN: "manifest unknown"); it has "latest"',
    );
    return true;
  });
  await assert.rejects(c.getManifest("nosuch/repo", "latest", ACCEPT), (err: unknown) => {
    assert.ok(err instanceof Oci2LxcError && err.code === "registry", String(err));
    assert.match(
      err.message,
      /^Cannot read manifest latest of 127\.0\.0\.1:\d+\/nosuch\/repo: the registry has no repository nosuch\/repo/,
    );
    return true;
  });
  const missing = `sha256:${"1".repeat(64)}`;
  await assert.rejects(c.getManifest("busybox", missing, ACCEPT), /the repository has no manifest sha256:1111/);
  await assert.rejects(c.getBlob("busybox", missing), (err: unknown) => {
    assert.ok(err instanceof Oci2LxcError && err.code === "registry");
    assert.match(
      err.message,
      /^Cannot read blob sha256:111111111111 of .*: the registry does not have it \(404 BLOB_UNKNOWN/,
    );
    return true;
  });
});

Deno.test("RegistryClient refuses a Docker schema 1 manifest with a clear error", async () => {
  await using registry = await seeded();
  using c = client(registry);
  await assert.rejects(c.getManifest("old", "s1", ACCEPT), (err: unknown) => {
    assert.ok(err instanceof Oci2LxcError && err.code === "image", String(err));
    assert.match(err.message, /^Cannot read manifest s1 of .*\/old: it is a Docker schema 1 manifest/);
    assert.match(err.hint ?? "", /push the image again/);
    return true;
  });
});

Deno.test("RegistryClient catches a changed byte in a blob and names the blob", async () => {
  await using registry = await seeded();
  using c = client(registry);
  const layer = json((await c.getManifest("busybox", "latest", ACCEPT)).bytes).layers[0];
  // Flip one byte in the registry's own storage: the registry serves it as it is.
  const hex = layer.digest.slice("sha256:".length);
  const data = `${registry.dir}/storage/docker/registry/v2/blobs/sha256/${hex.slice(0, 2)}/${hex}/data`;
  const bytes = await Deno.readFile(data);
  bytes[5000] = bytes[5000]! ^ 0xff;
  await Deno.writeFile(data, bytes);
  const blob = await c.getBlob("busybox", layer.digest, { size: layer.size });
  await assert.rejects(readAll(blob.stream), (err: unknown) => {
    assert.ok(err instanceof DigestMismatchError, String(err));
    assert.equal(err.what, `blob ${layer.digest} of ${registry.host}/busybox`);
    assert.equal(err.expected, layer.digest);
    assert.equal(err.actual, sha256(bytes));
    assert.match(
      err.message,
      /^Cannot read blob sha256:[0-9a-f]{12} of 127\.0\.0\.1:\d+\/busybox: its digest is sha256:/,
    );
    return true;
  });
  // Without checking (the caller hashes), the same bytes pass through.
  const unchecked = await c.getBlob("busybox", layer.digest, { verify: false });
  assert.deepEqual(await readAll(unchecked.stream), bytes);
});

Deno.test("RegistryClient.headManifest says what a tag or digest names without the body, or undefined", async () => {
  await using registry = await seeded();
  using c = client(registry);
  const seen = registry.accessLog().length;
  assert.deepEqual(await c.headManifest("busybox", "latest", ACCEPT), {
    digest: BUSYBOX_MANIFEST,
    mediaType: OCI_MANIFEST,
  });
  assert.deepEqual(await c.headManifest("multi", "latest", ACCEPT), { digest: MULTIARCH_INDEX, mediaType: OCI_INDEX });
  assert.deepEqual(await c.headManifest("busybox", BUSYBOX_MANIFEST, ACCEPT), {
    digest: BUSYBOX_MANIFEST,
    mediaType: OCI_MANIFEST,
  });
  // Docker schema 2, asked for in the Accept list: its own type.
  assert.equal((await c.headManifest("docker", "v2s2", ACCEPT))?.mediaType, DOCKER_MANIFEST);
  // A missing tag, a media type we do not read (schema 1): undefined, and the caller's GET says what is wrong.
  assert.equal(await c.headManifest("busybox", "nope", ACCEPT), undefined);
  assert.equal(await c.headManifest("old", "s1", ACCEPT), undefined);
  // Only HEADs reached the registry (the body was never asked for).
  const asked = registry.accessLog().slice(seen).filter((l) => l.includes("/manifests/"));
  assert.ok(asked.length >= 6 && asked.every((l) => l.startsWith("HEAD ")), asked.join("\n"));
});

Deno.test("RegistryClient never uses plain http unless tlsVerify is false", async () => {
  await using registry = await startRegistry("http");
  await registry.seed("busybox.oci.tar", "busybox:latest");
  const seeding = registry.accessLog().length;
  using c = new RegistryClient(registry.host, { env: {} });
  await assert.rejects(c.getManifest("busybox", "latest", ACCEPT), (err: unknown) => {
    assert.ok(err instanceof Oci2LxcError && err.code === "registry", String(err));
    assert.match(err.message, new RegExp(`^Cannot connect to registry ${registry.host} at https://.*: TLS failed`));
    assert.match(err.hint ?? "", /--cert-dir.*--tls-verify=false/);
    return true;
  });
  // Not one request reached the registry over http.
  assert.equal(registry.accessLog().length, seeding);
});

Deno.test("RegistryClient with tlsVerify false asks a plain-http registry over plain http, without a TLS attempt", async () => {
  await using registry = await startRegistry("http");
  await registry.seed("busybox.oci.tar", "busybox:latest");
  // A TCP relay in front of the registry that notes the first byte of every connection: 0x16 opens a TLS handshake.
  const [host, port] = registry.host.split(":");
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const firstBytes: number[] = [];
  const relays: Promise<void>[] = [];
  const accepting = (async () => {
    for await (const conn of listener) {
      relays.push(
        (async () => {
          const upstream = await Deno.connect({ hostname: host!, port: Number(port) });
          const head = new Uint8Array(1);
          if ((await conn.read(head)) !== 1) return conn.close(), upstream.close();
          firstBytes.push(head[0]!);
          await upstream.write(head);
          await Promise.allSettled([conn.readable.pipeTo(upstream.writable), upstream.readable.pipeTo(conn.writable)]);
        })().catch(() => {}),
      );
    }
  })();
  try {
    using c = new RegistryClient(`127.0.0.1:${(listener.addr as Deno.NetAddr).port}`, { tlsVerify: false, env: {} });
    const manifest = await c.getManifest("busybox", "latest", ACCEPT);
    assert.equal(manifest.digest, BUSYBOX_MANIFEST);
  } finally {
    listener.close();
    await accepting.catch(() => {});
  }
  assert.ok(firstBytes.length > 0);
  assert.ok(!firstBytes.includes(0x16), `a connection began a TLS handshake: first bytes ${firstBytes}`);
  assert.ok(firstBytes.every((b) => b === "G".charCodeAt(0)), `first bytes ${firstBytes}`);
});

Deno.test("RegistryClient stops on its abort signal: before a request (interrupted) and in the middle of a blob", async () => {
  await using registry = await startRegistry("http");
  await registry.seed("busybox.oci.tar", "busybox:latest");
  const before = new AbortController();
  before.abort();
  {
    using c = new RegistryClient(registry.host, { tlsVerify: false, env: {}, signal: before.signal });
    await assert.rejects(c.getManifest("busybox", "latest", ACCEPT), (err: unknown) => {
      assert.ok(err instanceof Oci2LxcError && err.code === "interrupted", String(err));
      assert.match(err.message, new RegExp(`^Cannot connect to registry ${registry.host} at https://.*: interrupted$`));
      return true;
    });
  }
  const during = new AbortController();
  using c = new RegistryClient(registry.host, { tlsVerify: false, env: {}, signal: during.signal });
  const layer = json((await c.getManifest("busybox", "latest", ACCEPT)).bytes).layers[0];
  const reader = (await c.getBlob("busybox", layer.digest)).stream.getReader();
  assert.ok(!(await reader.read()).done);
  during.abort();
  // Bounded: the layer is about 1 MB, so a stream that ignored the abort would end within its chunks.
  await assert.rejects(async () => {
    for (let i = 0; i < 10_000; i++) if ((await reader.read()).done) return;
  });
});
