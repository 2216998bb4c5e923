/**
 * Mirrors: registries.conf's `[[registry]]`/`[[registry.mirror]]` entries read by our TOML subset reader, the order
 * of endpoints, and for real: a pull-through mirror (a second docker-registry with `proxy.remoteurl` pointing at the
 * first) serves a second "node" without the upstream sending any blob again; a mirror that is down falls back to the
 * registry, with a warning that says so.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { Oci2LxcError } from "../../core/errors.ts";
import { MirroredRegistry, pullEndpoints } from "../../core/registry/mirrors.ts";
import { parseToml, readRegistriesConf } from "../../core/registry/registries_conf.ts";
import { startRegistry } from "../_helpers/registry.ts";

const ACCEPT = ["application/vnd.oci.image.manifest.v1+json", "application/vnd.oci.image.index.v1+json"];
const sha256 = (bytes: Uint8Array) => `sha256:${createHash("sha256").update(bytes).digest("hex")}`;

const CONF = `
# A fleet's registries.conf
unqualified-search-registries = ["docker.io", 'quay.io']

[[registry]]
prefix = "docker.io"
location = "registry-1.docker.io"

[[registry.mirror]]
location = "mirror.lan:5000"   # the pull-through cache
insecure = true

[[registry.mirror]]
location = "backup.lan/dockerhub"
pull-from-mirror = "digest-only"

[[registry]]
prefix = "docker.io/team"
location = "team.example/x"
mirror-by-digest-only = true
mirror = [ ]

[[registry]]
location = "blocked.example"
blocked = true

[aliases]
"busybox" = "docker.io/library/busybox"
`;

Deno.test("registries.conf: registries, mirrors, prefixes, insecure, pull-from-mirror and blocked are read", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/registries.conf`, CONF);
    const entries = readRegistriesConf(`${dir}/registries.conf`);
    assert.deepEqual(entries.map((e) => [e.prefix, e.location, e.blocked, e.mirrors.length]), [
      ["docker.io", "registry-1.docker.io", false, 2],
      ["docker.io/team", "team.example/x", false, 0],
      ["blocked.example", "blocked.example", true, 0],
    ]);
    assert.deepEqual(entries[0]!.mirrors[1], {
      location: "backup.lan/dockerhub",
      insecure: false,
      pullFromMirror: "digest-only",
    });
    const opts = { registriesConf: `${dir}/registries.conf`, registryMirrors: ["cli.lan:5001"] };
    const byTag = pullEndpoints("docker.io", "library/busybox", false, opts);
    assert.deepEqual(byTag.map((e) => `${e.host}/${e.repository}${e.insecure ? " insecure" : ""}`), [
      "cli.lan:5001/library/busybox",
      "mirror.lan:5000/library/busybox insecure",
      "registry-1.docker.io/library/busybox",
    ]);
    const byDigest = pullEndpoints("docker.io", "library/busybox", true, opts);
    assert.equal(byDigest[2]!.host + "/" + byDigest[2]!.repository, "backup.lan/dockerhub/library/busybox");
    // The longest prefix wins, and its location rewrites the name.
    assert.deepEqual(pullEndpoints("docker.io", "team/app", false, { registriesConf: opts.registriesConf }), [
      { host: "team.example", repository: "x/app", insecure: false, mirror: false },
    ]);
    assert.throws(() => pullEndpoints("blocked.example", "x", false, opts), (err: unknown) => {
      assert.ok(err instanceof Oci2LxcError && err.code === "registry");
      assert.match(err.message, /blocks blocked\.example \(blocked = true\)$/);
      return true;
    });
    assert.deepEqual(readRegistriesConf(`${dir}/missing.conf`), [], "no file: no entries");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("registries.conf: what the TOML subset does not read is an error naming file and line", () => {
  for (
    const [text, reason] of [
      ['[[registry]]\nprefix = """x"""', /line 2: multi-line strings are not supported/],
      ["[[registry]]\nprefix = 1.5", /line 2: expected a string, boolean, integer or array/],
      ['[[registry]]\nprefix = "a"\nprefix = "b"', /line 3: prefix is given twice/],
      ['[[registry]]\nprefix = "a" junk', /line 2: expected the end of the line/],
      ['[[registry]]\nprefix = "a', /line 2: unterminated string/],
    ] as const
  ) {
    assert.throws(() => parseToml(text, "/etc/containers/registries.conf"), (err: unknown) => {
      assert.ok(err instanceof Oci2LxcError && err.code === "usage");
      assert.match(err.message, /^Cannot read \/etc\/containers\/registries\.conf: /);
      assert.match(err.message, reason);
      return true;
    });
  }
});

/** Read busybox:latest's manifest and every blob through `pull`; the blob digests checked. */
async function pullAll(pull: MirroredRegistry): Promise<string[]> {
  const manifest = JSON.parse(new TextDecoder().decode((await pull.getManifest("latest", ACCEPT)).bytes));
  const digests: string[] = [];
  for (const d of [manifest.config, ...manifest.layers]) {
    const blob = await pull.getBlob(d.digest, { size: d.size });
    assert.equal(sha256(new Uint8Array(await new Response(blob.stream).arrayBuffer())), d.digest);
    digests.push(d.digest);
  }
  return digests;
}

Deno.test("a pull-through mirror serves a second node without the upstream sending a blob again", async () => {
  await using upstream = await startRegistry("http");
  await upstream.seed("busybox.oci.tar", "busybox:latest");
  await using mirror = await startRegistry("http", { proxyRemoteUrl: `http://${upstream.host}` });
  const warnings: string[] = [];
  const node = () =>
    new MirroredRegistry(
      pullEndpoints(upstream.host, "busybox", false, { entries: [], registryMirrors: [mirror.host] }),
      { tlsVerify: false, env: {} },
      (w) => warnings.push(w),
    );
  let digests: string[];
  {
    using first = node();
    digests = await pullAll(first);
  }
  // distribution's proxy fetches a blob it lacks twice on first use (one copy to store, one to serve), and stores it
  // in the background; a request while that store is under way is fetched from upstream again. Wait (bounded) until
  // the mirror holds every blob, as a fleet's second node would come later.
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
  assert.ok(digests.every(stored), "the mirror stored every blob");
  const afterFirst = upstream.blobGets();
  assert.deepEqual([...new Set(afterFirst)].sort(), [...digests].sort(), "the mirror fetched the blobs from upstream");
  {
    using second = node();
    assert.deepEqual(await pullAll(second), digests);
  }
  assert.deepEqual(upstream.blobGets(), afterFirst, "no download from upstream for the second node");
  assert.equal(mirror.blobGets().length, 2 * digests.length, "the mirror served both nodes");
  assert.deepEqual(warnings, []);
});

Deno.test("a mirror that is down falls back to the registry, and says so once", async () => {
  await using upstream = await startRegistry("http");
  await upstream.seed("busybox.oci.tar", "busybox:latest");
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const down = `127.0.0.1:${(listener.addr as Deno.NetAddr).port}`;
  listener.close();
  const warnings: string[] = [];
  using pull = new MirroredRegistry(
    pullEndpoints(upstream.host, "busybox", false, { entries: [], registryMirrors: [down] }),
    { tlsVerify: false, env: {} },
    (w) => warnings.push(w),
  );
  const digests = await pullAll(pull);
  assert.deepEqual(upstream.blobGets().sort(), [...digests].sort(), "everything came from the registry");
  assert.equal(warnings.length, 1, warnings.join("\n"));
  assert.match(warnings[0]!, new RegExp(`^mirror ${down} failed, pulling from ${upstream.host} instead: .*refused`));
});
