/**
 * With `--tls-verify=false` the client asks plain http first (registry_client.ts #pingOnce). For an endpoint with a
 * port both schemes reach the same server, and an https server does not answer plain http as a registry. Without a
 * port they reach two servers (80 and 443): a host that serves the registry on both (a reverse proxy that does not
 * redirect port 80) must still be used over https, as before, or the credentials go over plain http. On loopback:
 * two servers on 127.0.0.14, port 80 plain and port 443 with a self-signed certificate, both answering as registries.
 */
import assert from "node:assert/strict";
import { parseCreds } from "../../core/registry/credentials.ts";
import { RegistryClient } from "../../core/registry/registry_client.ts";
import { run, withTempDir } from "../_helpers/oci_builder.ts";
import { systemTest } from "../_helpers/tier.ts";

const HOST = "127.0.0.14";
const MANIFEST = new TextEncoder().encode(JSON.stringify({ schemaVersion: 2, layers: [] }));
const MEDIA_TYPE = "application/vnd.oci.image.manifest.v1+json";

/** A registry that wants Basic credentials; notes each request's scheme, path and whether it carried credentials. */
function registry(seen: string[], scheme: string) {
  return (request: Request): Response => {
    const authorization = request.headers.get("authorization");
    seen.push(`${scheme} ${new URL(request.url).pathname}${authorization ? " with credentials" : ""}`);
    if (!authorization) {
      return new Response("", { status: 401, headers: { "www-authenticate": 'Basic realm="test"' } });
    }
    return new Response(MANIFEST, { headers: { "content-type": MEDIA_TYPE } });
  };
}

systemTest("tlsVerify false, no port, registry on 80 and 443: credentials go over https only", async () => {
  await withTempDir(async (dir) => {
    const openssl = `openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=${HOST}`.split(" ");
    await run([...openssl, "-keyout", `${dir}/key.pem`, "-out", `${dir}/cert.pem`]);
    const seen: string[] = [];
    const quiet = { onListen: () => {} };
    await using _plain = Deno.serve({ hostname: HOST, port: 80, ...quiet }, registry(seen, "http"));
    const tls = { cert: Deno.readTextFileSync(`${dir}/cert.pem`), key: Deno.readTextFileSync(`${dir}/key.pem`) };
    await using _tls = Deno.serve({ hostname: HOST, port: 443, ...tls, ...quiet }, registry(seen, "https"));
    using client = new RegistryClient(HOST, { tlsVerify: false, env: {}, creds: parseCreds("tester:secret") });
    const manifest = await client.getManifest("app", "1", [MEDIA_TYPE]);
    assert.deepEqual(manifest.bytes, MANIFEST);
    assert(seen.some((line) => line === "https /v2/app/manifests/1 with credentials"), seen.join("; "));
    assert.deepEqual(seen.filter((line) => line.startsWith("http ")), [], "nothing asked over plain http");
  });
});
