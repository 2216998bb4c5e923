/**
 * Connection and answer failures, each one clear error naming the registry, repository and step: an unknown host
 * (resolved inside a network namespace the test makes, so no DNS query leaves the machine), a refused connection,
 * and 429 with Retry-After (from a small server on 127.0.0.1 that answers only that).
 */
import assert from "node:assert/strict";
import { Oci2LxcError } from "../../core/errors.ts";
import { RegistryClient } from "../../core/registry/registry_client.ts";
import { systemTest } from "../_helpers/tier.ts";

const ACCEPT = ["application/vnd.oci.image.manifest.v1+json"];

systemTest("RegistryClient: an unknown host is named as such (resolved in an empty network namespace)", async () => {
  const script = `
    import { RegistryClient } from ${
    JSON.stringify(new URL("../../core/registry/registry_client.ts", import.meta.url).href)
  };
    using client = new RegistryClient("nonexistent.invalid", { env: {} });
    try {
      await client.getManifest("library/busybox", "latest", ["application/vnd.oci.image.manifest.v1+json"]);
      console.log(JSON.stringify({ ok: true }));
    } catch (err) {
      console.log(JSON.stringify({ code: err.code, message: err.message, hint: err.hint }));
    }
  `;
  const out = await new Deno.Command("unshare", {
    args: ["--net", Deno.execPath(), "eval", "--no-check", script],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.ok(out.success, stderr);
  const result = JSON.parse(new TextDecoder().decode(out.stdout));
  assert.equal(result.code, "registry", JSON.stringify(result));
  assert.match(
    result.message,
    /^Cannot connect to registry nonexistent\.invalid at https:\/\/nonexistent\.invalid: the host nonexistent\.invalid is unknown \(.*dns error/,
  );
  assert.match(result.hint, /Check the registry's name in the image reference/);
});

Deno.test("RegistryClient: a refused connection names registry and port, with or without --tls-verify=false", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  for (const tlsVerify of [true, false]) {
    using client = new RegistryClient(`127.0.0.1:${port}`, { tlsVerify, env: {} });
    await assert.rejects(client.getManifest("busybox", "latest", ACCEPT), (err: unknown) => {
      assert.ok(err instanceof Oci2LxcError && err.code === "registry", String(err));
      assert.match(
        err.message,
        new RegExp(
          `^Cannot connect to registry 127\\.0\\.0\\.1:${port} at https://127\\.0\\.0\\.1:${port}: the connection to 127\\.0\\.0\\.1:${port} was refused`,
        ),
      );
      if (!tlsVerify) assert.match(err.message, /; plain http failed too: .*was refused$/);
      assert.match(err.hint ?? "", /Check the port in the image reference/);
      return true;
    });
  }
});

Deno.test("RegistryClient: 429 Too Many Requests says how long the registry asks to wait", async () => {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (request) => {
    if (new URL(request.url).pathname === "/v2/") return new Response("{}", { status: 200 });
    return Response.json(
      { errors: [{ code: "TOOMANYREQUESTS", message: "pull rate limit exceeded" }] },
      { status: 429, headers: { "retry-after": "7" } },
    );
  });
  try {
    // Retries off: the error itself is under test here (tests/registry/retry_test.ts waits a 429 out).
    using client = new RegistryClient(`127.0.0.1:${server.addr.port}`, {
      tlsVerify: false,
      env: {},
      retry: { attempts: 1 },
    });
    await assert.rejects(client.getManifest("library/busybox", "latest", ACCEPT), (err: unknown) => {
      assert.ok(err instanceof Oci2LxcError && err.code === "registry", String(err));
      assert.equal(
        err.message,
        `Cannot read manifest latest of 127.0.0.1:${server.addr.port}/library/busybox: too many requests ` +
          '(429 TOOMANYREQUESTS: "pull rate limit exceeded"); it asks to wait 7 seconds',
      );
      assert.match(err.hint ?? "", /Wait and run again/);
      return true;
    });
  } finally {
    await server.shutdown();
  }
});
