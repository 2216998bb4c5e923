/**
 * A real registry for tests: Debian's `docker-registry` (distribution 2.8) on 127.0.0.1 with a free port, its config
 * and storage in a temp dir, as /work/shared/TESTING-REGISTRY.md describes. Three modes:
 * - `http`: anonymous, plain http;
 * - `tls-basic`: TLS with a CA and server certificate made here with openssl, htpasswd Basic auth (bcrypt);
 * - `token`: TLS and the registry's `auth.token`, with a token server in the test (Deno.serve on 127.0.0.1) that signs
 *   RS256 JWTs the registry checks against the test's certificate (distribution's token spec: `kid` is libtrust's
 *   key ID of that certificate's key).
 * Seeded with `skopeo copy` from fixtures/images. Its access log (stdout, combined format) tells which blobs were
 * fetched. With `proxyRemoteUrl` it is a pull-through mirror of another registry. `await using` stops the registry and the token server and removes the temp dir.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { run } from "./oci_builder.ts";
import { waitFor } from "./wait_for.ts";

/** How the test registry is reached and guarded. */
export type RegistryMode = "http" | "tls-basic" | "token";

/** Options for {@linkcode startRegistry}. */
export interface StartRegistryOptions {
  /** Token mode: tokens for anonymous requests grant pull (as Docker Hub's do). Default false: no access. */
  anonymousPull?: boolean;
  /** TLS modes: the registry requires a client certificate, which `certDir` then holds as client.cert/client.key. */
  clientCertificates?: boolean;
  /**
   * A pull-through mirror of the registry at this URL (distribution's `proxy.remoteurl`, e.g. `http://127.0.0.1:5000`):
   * it fetches from there what it lacks, keeps it, and serves it from then on. It cannot be seeded (pushed to).
   */
  proxyRemoteUrl?: string;
}

/** One request the token server answered. */
export interface TokenRequest {
  readonly scopes: readonly string[];
  readonly account: string | undefined;
  /** Whether valid Basic credentials came with it. */
  readonly authenticated: boolean;
}

const FIXTURES = new URL("../../fixtures/images/", import.meta.url).pathname;
const SERVICE = "oci2lxc-test-registry";
const ISSUER = "oci2lxc-test-issuer";

/** A free TCP port on 127.0.0.1 (closed again; the registry binds it right after). */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

function base64url(bytes: Uint8Array | string): string {
  const raw = typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes;
  return btoa(String.fromCharCode(...raw)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** libtrust's key ID: SHA-256 of the DER public key, first 240 bits, base32, in groups of four joined by `:`. */
export function libtrustKeyId(spkiDer: Uint8Array): string {
  const hash = createHash("sha256").update(spkiDer).digest().subarray(0, 30);
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = 0;
  let value = 0;
  let out = "";
  for (const byte of hash) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return out.match(/.{4}/g)!.join(":");
}

function pemToDer(pem: string): Uint8Array {
  const body = pem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, "");
  return Uint8Array.from(atob(body), (c) => c.charCodeAt(0));
}

/** A certificate and key for `subject`, signed by the CA `ca` (with `ca.key` beside it), with the `ext` extensions. */
async function signedCertificate(ca: string, base: string, subject: string, ext: string): Promise<void> {
  await run([
    "openssl",
    "req",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    `${base}.key`,
    "-out",
    `${base}.csr`,
    "-subj",
    subject,
  ]);
  await Deno.writeTextFile(`${base}.ext`, ext);
  const sign = `x509 -req -days 2 -CAcreateserial -in ${base}.csr -CA ${ca} -CAkey ${ca}.key -extfile ${base}.ext`;
  await run(["openssl", ...sign.split(" "), "-out", `${base}.crt`]);
}

/** A CA, and a server certificate for 127.0.0.1 and localhost signed by it (paths without spaces: a temp dir). */
async function makeCertificates(dir: string): Promise<{ ca: string; cert: string; key: string }> {
  const ca = `${dir}/ca.crt`;
  const makeCa = `req -x509 -newkey rsa:2048 -nodes -days 2 -keyout ${ca}.key -out ${ca}`;
  await run(["openssl", ...makeCa.split(" "), "-subj", "/CN=oci2lxc test CA"]);
  const ext = "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n";
  await signedCertificate(ca, `${dir}/server`, "/CN=127.0.0.1", ext);
  return { ca, cert: `${dir}/server.crt`, key: `${dir}/server.key` };
}

/**
 * The token server of `token` mode: grants what valid Basic credentials ask for (pull and push, so skopeo can seed),
 * pull to anonymous requests with `anonymousPull`, nothing otherwise; signs RS256 JWTs with the claims distribution
 * 2.8 checks (iss, aud, exp, nbf, access) and the `kid` of the key in its `rootcertbundle`.
 */
class TokenServer {
  /** Every token request, in order. */
  readonly requests: TokenRequest[] = [];
  readonly url: string;
  /** How many of the next tokens are already expired when issued (their answer still says 300 s). */
  expireNext = 0;
  readonly #server: Deno.HttpServer<Deno.NetAddr>;
  readonly #signingKey: CryptoKey;
  readonly #kid: string;
  readonly #basic: string;
  readonly #user: string;
  readonly #anonymousPull: boolean;

  constructor(signingKey: CryptoKey, kid: string, user: string, password: string, anonymousPull: boolean) {
    this.#signingKey = signingKey;
    this.#kid = kid;
    this.#user = user;
    this.#basic = `Basic ${btoa(`${user}:${password}`)}`;
    this.#anonymousPull = anonymousPull;
    this.#server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (r) => this.#handle(r));
    this.url = `http://127.0.0.1:${this.#server.addr.port}/token`;
  }

  async #handle(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const scopes = url.searchParams.getAll("scope");
    const header = request.headers.get("authorization");
    const authenticated = header === this.#basic;
    this.requests.push({ scopes, account: url.searchParams.get("account") ?? undefined, authenticated });
    if (header !== null && !authenticated) {
      return Response.json({ errors: [{ code: "UNAUTHORIZED", message: "bad credentials" }] }, { status: 401 });
    }
    const access = scopes.flatMap((scope) => {
      const [type, name, actions] = scope.split(":");
      if (type !== "repository" || !name || !actions) return [];
      const wanted = actions.split(",");
      const granted = authenticated ? wanted : this.#anonymousPull ? wanted.filter((a) => a === "pull") : [];
      return granted.length ? [{ type, name, actions: granted }] : [];
    });
    const now = Math.floor(Date.now() / 1000);
    // An "expired" token ended two minutes ago: beyond distribution's 60 s leeway.
    const expired = this.expireNext > 0;
    if (expired) this.expireNext--;
    const jwtHeader = base64url(JSON.stringify({ typ: "JWT", alg: "RS256", kid: this.#kid }));
    const claims = base64url(JSON.stringify({
      iss: ISSUER,
      sub: authenticated ? this.#user : "",
      aud: SERVICE,
      exp: expired ? now - 120 : now + 300,
      nbf: now - 300,
      iat: now - 300,
      jti: crypto.randomUUID(),
      access,
    }));
    const signature = new Uint8Array(
      await crypto.subtle.sign(
        "RSASSA-PKCS1-v1_5",
        this.#signingKey,
        new TextEncoder().encode(`${jwtHeader}.${claims}`),
      ),
    );
    const token = `${jwtHeader}.${claims}.${base64url(signature)}`;
    return Response.json({ token, access_token: token, expires_in: 300, issued_at: new Date().toISOString() });
  }

  async close(): Promise<void> {
    await this.#server.shutdown();
  }
}

/** A running test registry. */
export class TestRegistry implements AsyncDisposable {
  /** `127.0.0.1:PORT`: the registry part of a `docker://` reference. */
  readonly host: string;
  readonly mode: RegistryMode;
  /** The temp dir holding config, storage, certificates and logs. */
  readonly dir: string;
  /** Basic / token credentials (tls-basic and token modes). */
  readonly user = "tester";
  readonly password = "pass:word-1234";
  /** The registry's CA as `ca.crt` (TLS modes), and with `clientCertificates` client.cert/client.key: for `--cert-dir`. */
  readonly certDir: string | undefined;
  /** The token server (token mode). */
  readonly tokenServer: TokenServer | undefined;
  readonly #process: Deno.ChildProcess;
  readonly #accessLog: string;

  constructor(
    fields: {
      host: string;
      mode: RegistryMode;
      dir: string;
      certDir: string | undefined;
      tokenServer: TokenServer | undefined;
    },
    process: Deno.ChildProcess,
  ) {
    this.host = fields.host;
    this.mode = fields.mode;
    this.dir = fields.dir;
    this.certDir = fields.certDir;
    this.tokenServer = fields.tokenServer;
    this.#process = process;
    this.#accessLog = `${fields.dir}/access.log`;
  }

  /** The registry's own log (stderr), for a failing test's message. */
  errorLog(): string {
    try {
      return Deno.readTextFileSync(`${this.dir}/registry.log`);
    } catch {
      return "";
    }
  }

  /**
   * Copy a fixture into the registry with skopeo: `fixture` is a file in fixtures/images (an OCI archive), `ref`
   * is `name:tag`; `format` `v2s2` stores Docker schema 2, `v2s1` Docker schema 1; `all` copies a whole index.
   */
  async seed(fixture: string, ref: string, options: { format?: "v2s2" | "v2s1"; all?: boolean } = {}): Promise<void> {
    await this.push(`oci-archive:${FIXTURES}${fixture}`, ref, options);
  }

  /** Copy an image from any skopeo source (`oci:DIR:TAG`, `oci-archive:FILE`) into the registry as `ref` (name:tag). */
  async push(source: string, ref: string, options: { format?: "v2s2" | "v2s1"; all?: boolean } = {}): Promise<void> {
    const args = ["skopeo", "copy", "--quiet"];
    if (options.all) args.push("--all");
    if (options.format) args.push("--format", options.format);
    if (this.certDir) args.push("--dest-cert-dir", this.certDir);
    else args.push("--dest-tls-verify=false");
    if (this.mode !== "http") args.push("--dest-creds", `${this.user}:${this.password}`);
    args.push(source, `docker://${this.host}/${ref}`);
    await run(args);
  }

  /** The access log's request lines so far: `GET /v2/busybox/blobs/sha256:… 200`. */
  accessLog(): string[] {
    let text = "";
    try {
      text = Deno.readTextFileSync(this.#accessLog);
    } catch {
      return [];
    }
    const lines: string[] = [];
    for (const line of text.split("\n")) {
      const m = /"([A-Z]+) (\S+) HTTP\/[0-9.]+" (\d{3})/.exec(line);
      if (m) lines.push(`${m[1]} ${m[2]} ${m[3]}`);
    }
    return lines;
  }

  /** The digests of successful blob GETs so far, in order (one entry per download). */
  blobGets(): string[] {
    return this.accessLog().flatMap((line) => {
      const m = /^GET \/v2\/.+\/blobs\/(\S+) 20[06]$/.exec(line);
      return m ? [m[1]!] : [];
    });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    try {
      this.#process.kill("SIGTERM");
    } catch {
      // already gone
    }
    await this.#process.status;
    await this.tokenServer?.close();
    await Deno.remove(this.dir, { recursive: true });
  }
}

/**
 * Start a registry in `mode`; ready when its port accepts connections.
 *
 * @example
 * ```ts ignore
 * await using registry = await startRegistry("http");
 * await registry.seed("busybox.oci.tar", "busybox:latest");
 * ```
 */
export async function startRegistry(mode: RegistryMode, options: StartRegistryOptions = {}): Promise<TestRegistry> {
  const dir = await Deno.makeTempDir({ prefix: "oci2lxc-registry-" });
  try {
    const port = freePort();
    const host = `127.0.0.1:${port}`;
    const config = [
      "version: 0.1",
      "log:",
      "  level: warn",
      "storage:",
      "  filesystem:",
      `    rootdirectory: ${dir}/storage`,
      "  delete:",
      "    enabled: true",
      // Lets seed() push Docker schema 1, to test that we refuse it.
      "compatibility:",
      "  schema1:",
      "    enabled: true",
      "http:",
      `  addr: ${host}`,
    ];
    let certDir: string | undefined;
    let tokenServer: TokenServer | undefined;
    const user = "tester";
    const password = "pass:word-1234";
    if (mode !== "http") {
      const { ca, cert, key } = await makeCertificates(dir);
      certDir = `${dir}/certs.d`;
      await Deno.mkdir(certDir);
      await Deno.copyFile(ca, `${certDir}/ca.crt`);
      config.push("  tls:", `    certificate: ${cert}`, `    key: ${key}`);
      if (options.clientCertificates) {
        // The registry asks for a client certificate from our CA; certs.d holds it as client.cert + client.key.
        await signedCertificate(ca, `${dir}/client`, "/CN=oci2lxc test client", "extendedKeyUsage=clientAuth\n");
        await Deno.copyFile(`${dir}/client.crt`, `${certDir}/client.cert`);
        await Deno.copyFile(`${dir}/client.key`, `${certDir}/client.key`);
        config.push("    clientcas:", `      - ${ca}`);
      }
    }
    if (mode === "tls-basic") {
      await run(["htpasswd", "-Bbc", `${dir}/htpasswd`, user, password]);
      config.push("auth:", "  htpasswd:", "    realm: oci2lxc-test", `    path: ${dir}/htpasswd`);
    }
    if (mode === "token") {
      const tokenKey = `${dir}/token.key`;
      const tokenCert = `${dir}/token.crt`;
      await run([
        "openssl",
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        tokenKey,
        "-out",
        tokenCert,
        "-days",
        "2",
        "-subj",
        "/CN=oci2lxc test token signer",
      ]);
      const spki = await run(["openssl", "pkey", "-in", tokenKey, "-pubout", "-outform", "DER"]);
      const signingKey = await crypto.subtle.importKey(
        "pkcs8",
        pemToDer(await Deno.readTextFile(tokenKey)) as BufferSource,
        { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
        false,
        ["sign"],
      );
      tokenServer = new TokenServer(signingKey, libtrustKeyId(spki), user, password, options.anonymousPull ?? false);
      config.push(
        "auth:",
        "  token:",
        `    realm: ${tokenServer.url}`,
        `    service: ${SERVICE}`,
        `    issuer: ${ISSUER}`,
        `    rootcertbundle: ${tokenCert}`,
      );
    }
    if (options.proxyRemoteUrl) config.push("proxy:", `  remoteurl: ${options.proxyRemoteUrl}`);
    await Deno.writeTextFile(`${dir}/config.yml`, config.join("\n") + "\n");
    // The access log goes to stdout, everything else to stderr: both into files, so no pipe can fill up.
    const process = new Deno.Command("sh", {
      args: [
        "-c",
        `exec docker-registry serve "$1" >"$2" 2>"$3"`,
        "sh",
        `${dir}/config.yml`,
        `${dir}/access.log`,
        `${dir}/registry.log`,
      ],
      stdin: "null",
    }).spawn();
    const registry = new TestRegistry({ host, mode, dir, certDir, tokenServer }, process);
    let exited = false;
    process.status.then(() => exited = true);
    // Bounded: 10 s; a registry that exits ends the wait at once.
    const state = await waitFor(`docker-registry on ${host}`, 10_000, async () => {
      if (exited) return "exited";
      try {
        (await Deno.connect({ hostname: "127.0.0.1", port })).close();
        return "listening";
      } catch {
        return undefined;
      }
    }, { everyMs: 25 }).catch(() => "silent");
    if (state !== "listening") {
      const log = registry.errorLog();
      await registry[Symbol.asyncDispose]();
      throw new Error(`docker-registry did not start on ${host}: ${log}`);
    }
    return registry;
  } catch (err) {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    throw err;
  }
}
