/**
 * Authentication and TLS against real registries: TLS with htpasswd Basic auth, and the registry's token auth with a
 * token server that signs real JWTs. Credentials come from each source; secrets never appear in errors or --debug.
 */
import assert from "node:assert/strict";
import { Oci2LxcError } from "../../core/errors.ts";
import { Credentials, parseCreds } from "../../core/registry/credentials.ts";
import { RegistryClient, type RegistryClientOptions } from "../../core/registry/registry_client.ts";
import { startRegistry, type TestRegistry } from "../_helpers/registry.ts";

const ACCEPT = ["application/vnd.oci.image.manifest.v1+json", "application/vnd.oci.image.index.v1+json"];
const json = (bytes: Uint8Array) => JSON.parse(new TextDecoder().decode(bytes));

/** Pull busybox's manifest, config and layer; returns the --debug lines. */
async function pull(registry: TestRegistry, options: RegistryClientOptions, repository = "busybox"): Promise<string[]> {
  const debug: string[] = [];
  // No credential file anywhere: an empty env would mean HOME=/root, which a normal user cannot read (the unit tier).
  const env = { HOME: "/nonexistent" };
  using client = new RegistryClient(registry.host, { env, ...options, debug: (line) => debug.push(line) });
  const manifest = json((await client.getManifest(repository, "latest", ACCEPT)).bytes);
  for (const blob of [manifest.config, ...manifest.layers]) {
    const { stream } = await client.getBlob(repository, blob.digest, { size: blob.size });
    await new Response(stream).arrayBuffer();
  }
  return debug;
}

async function rejectsWith(promise: Promise<unknown>, check: (err: Oci2LxcError) => void): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof Oci2LxcError, String(err));
    check(err);
    return true;
  });
}

Deno.test("TLS + Basic: --cert-dir and --creds pull; a certs.d directory works too; secrets stay out of --debug", async () => {
  await using registry = await startRegistry("tls-basic");
  await registry.seed("busybox.oci.tar", "busybox:latest");
  const creds = parseCreds(`${registry.user}:${registry.password}`);
  const debug = await pull(registry, { certDir: registry.certDir, creds });
  assert.ok(debug.some((line) => line.startsWith(`GET https://${registry.host}/v2/busybox/manifests/latest → 200`)));
  for (const line of debug) assert.ok(!line.includes(registry.password) && !line.includes(btoa(registry.user)), line);
  assert.equal(registry.blobGets().length, 2);

  // /etc/containers/certs.d/HOST:PORT/ca.crt, looked up by host and port (here under a temp root).
  const root = await Deno.makeTempDir({ prefix: "oci2lxc-certs.d-" });
  try {
    await Deno.mkdir(`${root}/${registry.host}`);
    await Deno.copyFile(`${registry.certDir}/ca.crt`, `${root}/${registry.host}/ca.crt`);
    await pull(registry, { systemCertDirs: [`${root}/missing`, root], creds });
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("TLS: a registry certificate from an unknown CA fails with a hint; --tls-verify=false accepts it", async () => {
  await using registry = await startRegistry("tls-basic");
  await registry.seed("busybox.oci.tar", "busybox:latest");
  const creds = parseCreds(`${registry.user}:${registry.password}`);
  await rejectsWith(pull(registry, { creds, systemCertDirs: [] }), (err) => {
    assert.equal(err.code, "registry");
    assert.match(
      err.message,
      new RegExp(
        `^Cannot connect to registry ${registry.host} at https://${registry.host}: TLS failed .*UnknownIssuer`,
      ),
    );
    assert.match(err.hint ?? "", /--cert-dir DIR/);
    assert.match(err.hint ?? "", /--tls-verify=false/);
  });
  // Unverified TLS: plain http is asked first, only for the ping (no credentials); the https server refuses it, so
  // everything else, credentials included, goes over TLS.
  const debug = await pull(registry, { creds, tlsVerify: false, systemCertDirs: [] });
  const plain = debug.filter((line) => line.includes("http://"));
  assert.deepEqual(plain, [`GET http://${registry.host}/v2/ → 400`], debug.join("\n"));
  assert.ok(debug.some((line) => line.includes(`https://${registry.host}/v2/busybox/manifests/`)), debug.join("\n"));
});

Deno.test("Basic: 401 says which credentials were tried and from where, never the password", async () => {
  await using registry = await startRegistry("tls-basic");
  await registry.seed("busybox.oci.tar", "busybox:latest");
  const base = { certDir: registry.certDir };
  await rejectsWith(
    pull(registry, { ...base, creds: new Credentials(registry.user, "wrong-Secret-77", "--creds") }),
    (err) => {
      assert.equal(err.code, "registry");
      assert.match(
        err.message,
        /^Cannot read manifest latest of 127\.0\.0\.1:\d+\/busybox: the registry wants other credentials \(401 UNAUTHORIZED/,
      );
      assert.match(err.message, /tried the credentials of user "tester" from --creds/);
      assert.ok(!err.message.includes("wrong-Secret-77") && !(err.hint ?? "").includes("wrong-Secret-77"));
    },
  );
  const home = await Deno.makeTempDir({ prefix: "oci2lxc-home-" });
  try {
    await rejectsWith(pull(registry, { ...base, env: { HOME: home, XDG_RUNTIME_DIR: `${home}/run` } }), (err) => {
      assert.match(
        err.message,
        /no credentials found \(looked at --creds, .*\/run\/containers\/auth\.json, .*\/\.config\/containers\/auth\.json, .*\/\.docker\/config\.json\)/,
      );
      assert.match(err.hint ?? "", /--creds USER.*--password-stdin.*--authfile/);
    });
    // The same registry through an auth file (the key with its port, as podman login writes it).
    const authfile = `${home}/auth.json`;
    await Deno.writeTextFile(
      authfile,
      JSON.stringify({ auths: { [registry.host]: { auth: btoa(`${registry.user}:${registry.password}`) } } }),
    );
    await pull(registry, { ...base, authfile });
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("Token auth: one token per repository scope, reused for the manifest and every blob", async () => {
  await using registry = await startRegistry("token");
  await registry.seed("busybox.oci.tar", "busybox:latest");
  await registry.seed("busybox.oci.tar", "other/copy:latest");
  const seeding = registry.tokenServer!.requests.length;
  const creds = parseCreds(`${registry.user}:${registry.password}`);
  using client = new RegistryClient(registry.host, { certDir: registry.certDir, creds, env: {} });
  for (const repository of ["busybox", "other/copy", "busybox"]) {
    const manifest = json((await client.getManifest(repository, "latest", ACCEPT)).bytes);
    for (const blob of [manifest.config, ...manifest.layers]) {
      await new Response((await client.getBlob(repository, blob.digest)).stream).arrayBuffer();
    }
    assert.ok(await client.headBlob(repository, manifest.config.digest));
  }
  assert.deepEqual(registry.tokenServer!.requests.slice(seeding), [
    { scopes: ["repository:busybox:pull"], account: "tester", authenticated: true },
    { scopes: ["repository:other/copy:pull"], account: "tester", authenticated: true },
  ]);
  assert.equal(client.auth.tokenRequests, 2);
  assert.equal(registry.blobGets().length, 6);
});

Deno.test("Token auth: a token the registry refuses (401) is renewed once, and the pull goes on", async () => {
  await using registry = await startRegistry("token", { anonymousPull: true });
  await registry.seed("busybox.oci.tar", "busybox:latest");
  // The next token is already expired while its answer says 300 s: the registry answers 401 to it.
  registry.tokenServer!.expireNext = 1;
  const debug = await pull(registry, { certDir: registry.certDir });
  const statuses = debug.map((line) => line.replace(/https?:\/\/[^/]+/, "").replace(/sha256:[0-9a-f]+/, "D"));
  assert.deepEqual(statuses.slice(0, 5), [
    "GET /v2/ → 401",
    "GET /token (token, scope repository:busybox:pull) → 200",
    "GET /v2/busybox/manifests/latest → 401",
    "GET /token (token, scope repository:busybox:pull) → 200",
    "GET /v2/busybox/manifests/latest → 200",
  ]);
});

Deno.test("Token auth: anonymous pulls get a token without credentials; without access the error says none were found", async () => {
  await using open = await startRegistry("token", { anonymousPull: true });
  await open.seed("busybox.oci.tar", "busybox:latest");
  const before = open.tokenServer!.requests.length;
  await pull(open, { certDir: open.certDir });
  assert.deepEqual(open.tokenServer!.requests.slice(before), [
    { scopes: ["repository:busybox:pull"], account: undefined, authenticated: false },
  ]);

  await using closed = await startRegistry("token");
  await closed.seed("busybox.oci.tar", "busybox:latest");
  const home = await Deno.makeTempDir({ prefix: "oci2lxc-home-" });
  try {
    await rejectsWith(pull(closed, { certDir: closed.certDir, env: { HOME: home, XDG_RUNTIME_DIR: home } }), (err) => {
      assert.match(err.message, /the registry wants other credentials \(401 UNAUTHORIZED.*no credentials found/);
    });
    await rejectsWith(
      pull(closed, { certDir: closed.certDir, creds: new Credentials("tester", "bad-Secret-9", "--creds") }),
      (err) => {
        assert.match(
          err.message,
          /^Cannot get a token for 127\.0\.0\.1:\d+\/busybox: the token server http:\/\/127\.0\.0\.1:\d+ answered 401 UNAUTHORIZED.* for the credentials of user "tester" from --creds/,
        );
        assert.ok(!err.message.includes("bad-Secret-9"));
      },
    );
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("Token auth with credentials from a docker-credential-test helper (credsStore) on PATH", async () => {
  await using registry = await startRegistry("token");
  await registry.seed("busybox.oci.tar", "busybox:latest");
  const home = await Deno.makeTempDir({ prefix: "oci2lxc-home-" });
  try {
    await Deno.mkdir(`${home}/bin`);
    await Deno.mkdir(`${home}/.docker`);
    const answer = JSON.stringify({ ServerURL: registry.host, Username: registry.user, Secret: registry.password });
    await Deno.writeTextFile(
      `${home}/bin/docker-credential-test`,
      `#!/bin/sh\nread -r server\n[ "$server" = "${registry.host}" ] && printf '%s' '${answer}' && exit 0\necho "credentials not found"; exit 1\n`,
      { mode: 0o755 },
    );
    await Deno.writeTextFile(`${home}/.docker/config.json`, JSON.stringify({ credsStore: "test" }));
    const before = registry.tokenServer!.requests.length;
    await pull(registry, {
      certDir: registry.certDir,
      env: { HOME: home, XDG_RUNTIME_DIR: home, PATH: `${home}/bin:/usr/bin:/bin` },
    });
    assert.deepEqual(registry.tokenServer!.requests.slice(before), [
      { scopes: ["repository:busybox:pull"], account: "tester", authenticated: true },
    ]);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("TLS: a client certificate from --cert-dir (NAME.cert with NAME.key), verified and unverified", async () => {
  await using registry = await startRegistry("tls-basic", { clientCertificates: true });
  await registry.seed("busybox.oci.tar", "busybox:latest");
  const creds = parseCreds(`${registry.user}:${registry.password}`);
  await pull(registry, { certDir: registry.certDir, creds });
  await pull(registry, { certDir: registry.certDir, creds, tlsVerify: false });
  const caOnly = await Deno.makeTempDir({ prefix: "oci2lxc-certs-" });
  try {
    await Deno.copyFile(`${registry.certDir}/ca.crt`, `${caOnly}/ca.crt`);
    await rejectsWith(pull(registry, { certDir: caOnly, creds }), (err) => {
      assert.equal(err.code, "registry");
      // TLS 1.3: the server's "certificate required" alert comes after the client's handshake, so the client sees it
      // or only the closed socket, by timing; both name the registry, and the hint names client certificates.
      assert.match(
        err.message,
        /^Cannot (connect to registry|read manifest latest of) 127\.0\.0\.1:\d+.*: (TLS failed|the registry closed the connection)/,
      );
      assert.match(err.hint ?? "", /client certificate|--cert-dir/);
    });
    // A key without its certificate is refused before any connection.
    await Deno.copyFile(`${registry.certDir}/client.key`, `${caOnly}/client.key`);
    assert.throws(() => new RegistryClient(registry.host, { certDir: caOnly, env: {} }), (err: unknown) => {
      assert.ok(err instanceof Oci2LxcError && err.code === "registry");
      assert.equal(
        err.message,
        `Cannot read certificates from ${caOnly}: key client.key has no client certificate client.cert`,
      );
      assert.match(err.hint ?? "", /^Check --cert-dir/);
      return true;
    });
  } finally {
    await Deno.remove(caOnly, { recursive: true });
  }
});
