import assert from "node:assert/strict";
import { Oci2LxcError } from "../../core/errors.ts";
import { findCredentials, normalizeAuthKey } from "../../core/registry/auth_sources.ts";
import { Credentials } from "../../core/registry/credentials.ts";

const auth = (user: string, pass: string) => ({ auth: btoa(`${user}:${pass}`) });

/** A home directory, runtime dir and PATH in a temp dir, so no test reads the real ones. */
async function sandbox() {
  const dir = await Deno.makeTempDir({ prefix: "oci2lxc-auth-" });
  const env: Record<string, string> = { HOME: `${dir}/home`, XDG_RUNTIME_DIR: `${dir}/run`, PATH: `${dir}/bin` };
  await Deno.mkdir(`${dir}/bin`);
  const write = async (path: string, value: unknown) => {
    await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
    await Deno.writeTextFile(path, typeof value === "string" ? value : JSON.stringify(value));
  };
  return {
    dir,
    env,
    write,
    [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
  };
}

/** `docker-credential-test`: answers for the servers in `known` and logs what it was asked. */
async function installHelper(dir: string, known: Record<string, [string, string]>) {
  const cases = Object.entries(known).map(([server, [user, secret]]) =>
    `  ${JSON.stringify(server)}) printf '%s' '${
      JSON.stringify({ ServerURL: server, Username: user, Secret: secret })
    }' ;;`
  ).join("\n");
  const script = `#!/bin/sh
[ "$1" = get ] || exit 2
read -r server || true
echo "$server" >> "${dir}/helper.log"
case "$server" in
${cases}
  *) echo "credentials not found in native keychain"; exit 1 ;;
esac
`;
  await Deno.writeTextFile(`${dir}/bin/docker-credential-test`, script, { mode: 0o755 });
}

Deno.test("findCredentials(): --creds win, then --authfile, then later files are not needed", async () => {
  await using s = await sandbox();
  await s.write(`${s.dir}/explicit.json`, { auths: { "quay.io": auth("fromfile", "pw1") } });
  await s.write(`${s.dir}/run/containers/auth.json`, { auths: { "quay.io": auth("runtime", "pw2") } });
  const creds = new Credentials("cli", "pw0", "--creds");
  const a = await findCredentials("quay.io", "org/app", { creds, authfile: `${s.dir}/explicit.json`, env: s.env });
  assert.equal(a.credentials, creds);
  const b = await findCredentials("quay.io", "org/app", { authfile: `${s.dir}/explicit.json`, env: s.env });
  assert.equal(b.credentials?.username, "fromfile");
  assert.equal(b.credentials?.revealSecret(), "pw1");
  assert.equal(b.credentials?.source, `${s.dir}/explicit.json (auths "quay.io")`);
  assert.deepEqual(b.tried, [`${s.dir}/explicit.json`]);
});

Deno.test("findCredentials() looks in the order REGISTRY_AUTH_FILE, XDG_RUNTIME_DIR, ~/.config, DOCKER_CONFIG / ~/.docker", async () => {
  await using s = await sandbox();
  const home = s.env.HOME!;
  const files = {
    registryAuthFile: `${s.dir}/registry-auth.json`,
    runtime: `${s.dir}/run/containers/auth.json`,
    config: `${home}/.config/containers/auth.json`,
    docker: `${home}/.docker/config.json`,
    dockerConfig: `${s.dir}/dockercfg/config.json`,
  };
  for (const [name, path] of Object.entries(files)) {
    await s.write(path, { auths: { "quay.io": auth(name, `pw-${name}`) } });
  }
  const user = async (env: Record<string, string>) =>
    (await findCredentials("quay.io", "a", { env: { ...s.env, ...env } })).credentials?.username;
  assert.equal(await user({ REGISTRY_AUTH_FILE: files.registryAuthFile }), "registryAuthFile");
  assert.equal(await user({}), "runtime");
  await Deno.remove(files.runtime);
  assert.equal(await user({}), "config");
  await Deno.remove(files.config);
  assert.equal(await user({}), "docker");
  assert.equal(await user({ DOCKER_CONFIG: `${s.dir}/dockercfg` }), "dockerConfig");
  await Deno.remove(files.docker);
  const none = await findCredentials("quay.io", "a", { env: s.env });
  assert.equal(none.credentials, undefined);
  assert.deepEqual(none.tried, [files.runtime, files.config, files.docker]);
});

Deno.test("findCredentials() matches keys as containers/image: repository, namespace, host, then normalised keys", async () => {
  await using s = await sandbox();
  const path = `${s.env.HOME}/.docker/config.json`;
  await s.write(path, {
    auths: {
      "quay.io/org/app": auth("repo", "p"),
      "quay.io/org": auth("namespace", "p"),
      "https://quay.io/v1/": auth("url", "p"),
      "https://index.docker.io/v1/": auth("hub", "p"),
      "localhost:5000": auth("local", "p"),
      "ghcr.io": { auth: "" },
    },
  });
  const user = async (registry: string, repository: string) =>
    (await findCredentials(registry, repository, { env: s.env })).credentials?.username;
  assert.equal(await user("quay.io", "org/app"), "repo");
  assert.equal(await user("quay.io", "org/other"), "namespace");
  assert.equal(await user("quay.io", "else/x"), "url");
  assert.equal(await user("docker.io", "library/busybox"), "hub");
  assert.equal(await user("localhost:5000", "x"), "local");
  assert.equal(await user("localhost:5001", "x"), undefined);
  assert.equal(await user("ghcr.io", "x"), undefined);
  assert.equal(normalizeAuthKey("http://registry-1.docker.io/v2/"), "docker.io");
  assert.equal(normalizeAuthKey("index.docker.io"), "docker.io");
  assert.equal(normalizeAuthKey("https://127.0.0.1:5000"), "127.0.0.1:5000");
});

Deno.test("findCredentials() asks docker-credential-NAME from credHelpers, then auths, then credsStore", async () => {
  await using s = await sandbox();
  await installHelper(s.dir, {
    "quay.io": ["helper-user", "helper-secret"],
    "https://index.docker.io/v1/": ["hub-user", "hub-secret"],
    "ghcr.io": ["store-user", "store-secret"],
  });
  const path = `${s.env.HOME}/.docker/config.json`;
  await s.write(path, {
    auths: { "quay.io": auth("file-user", "p"), "gcr.io": auth("gcr-file", "p") },
    credHelpers: { "quay.io": "test", "docker.io": "test", "nothere.io": "test" },
    credsStore: "test",
  });
  const find = (registry: string) => findCredentials(registry, "a/b", { env: s.env });
  const quay = (await find("quay.io")).credentials;
  assert.equal(quay?.username, "helper-user");
  assert.equal(quay?.revealSecret(), "helper-secret");
  assert.equal(quay?.source, "docker-credential-test");
  assert.equal((await find("docker.io")).credentials?.username, "hub-user");
  assert.equal((await find("gcr.io")).credentials?.username, "gcr-file");
  assert.equal((await find("ghcr.io")).credentials?.username, "store-user");
  assert.equal((await find("nothere.io")).credentials, undefined);
  assert.deepEqual(
    (await Deno.readTextFile(`${s.dir}/helper.log`)).trim().split("\n"),
    ["quay.io", "https://index.docker.io/v1/", "ghcr.io", "nothere.io"],
  );
});

Deno.test("findCredentials() fails clearly, without echoing secrets: missing --authfile, bad JSON, bad auth, broken helper", async () => {
  await using s = await sandbox();
  const expect = async (options: Parameters<typeof findCredentials>[2], reason: RegExp) => {
    await assert.rejects(findCredentials("quay.io", "a", options), (err: unknown) => {
      assert.ok(err instanceof Oci2LxcError && err.code === "registry", String(err));
      assert.match(err.message, reason);
      assert.ok(!err.message.includes("topsecret"), err.message);
      return true;
    });
  };
  await expect({ authfile: `${s.dir}/missing.json`, env: s.env }, /Cannot read auth file .*missing\.json/);
  await s.write(`${s.dir}/bad.json`, '{"auths": {"quay.io": {"auth": "topsecret"');
  await expect({ authfile: `${s.dir}/bad.json`, env: s.env }, /bad\.json: it is not a JSON object/);
  await s.write(`${s.dir}/noauth.json`, { auths: { "quay.io": { auth: btoa("topsecret-without-colon") } } });
  await expect({ authfile: `${s.dir}/noauth.json`, env: s.env }, /"auth" of "quay\.io" is not base64 of USER:PASSWORD/);
  await s.write(`${s.dir}/helper.json`, { credHelpers: { "quay.io": "absent" } });
  await expect({ authfile: `${s.dir}/helper.json`, env: s.env }, /docker-credential-absent .*: it is not on PATH/);
  await Deno.writeTextFile(`${s.dir}/bin/docker-credential-broken`, "#!/bin/sh\necho 'topsecret {'\n", { mode: 0o755 });
  await s.write(`${s.dir}/broken.json`, { credHelpers: { "quay.io": "broken" } });
  await expect({ authfile: `${s.dir}/broken.json`, env: s.env }, /docker-credential-broken .*: its answer is not JSON/);
});
