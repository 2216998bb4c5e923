/**
 * A client for one registry (the OCI distribution spec's pull side): manifests by tag or digest, blobs as streams
 * (with `Range` for a resume), blob sizes. The first request pings `/v2/`: https; only when `tlsVerify` is false, plain
 * http too (first when the endpoint names its port, else after https); the answer's challenges set up authentication
 * ({@linkcode RegistryAuth}). Every manifest's digest is computed and checked when it was asked for by digest; every
 * blob read from its start is checked against its digest (and size when known) as it streams.
 *
 * @module
 */
import { Hasher, parseDigest, shortDigest } from "../digest.ts";
import { DigestMismatchError, Oci2LxcError } from "../errors.ts";
import { parseAuthChallenges } from "./auth_challenge.ts";
import type { CredentialSourceOptions } from "./auth_sources.ts";
import { certDirFor, loadTlsMaterial } from "./cert_dir.ts";
import { createTransport, type HttpTransport } from "./http_transport.ts";
import { registryEndpoint } from "./reference.ts";
import { RegistryAuth } from "./registry_auth.ts";
import { connectionError, describeStatus, readErrorBody, statusError } from "./registry_errors.ts";
import { resumableBlob } from "./resumable_blob.ts";
import { attemptsNote, type RetryOptions, type RetryPolicy, retryPolicy, sendWithRetry } from "./retry_policy.ts";

/** Options for {@linkcode RegistryClient}. */
export interface RegistryClientOptions extends CredentialSourceOptions {
  /** `--cert-dir DIR`: CA `*.crt` and client `NAME.cert`/`NAME.key`; replaces the `certs.d` lookup. */
  certDir?: string | undefined;
  /** `--tls-verify=false`: accept any certificate, and plain http (tried first for HOST:PORT). Default true. */
  tlsVerify?: boolean | undefined;
  /** Where `HOST:PORT/` directories are looked for without `certDir`; default `/etc/containers/certs.d`, `/etc/docker/certs.d`. */
  systemCertDirs?: readonly string[] | undefined;
  /** Stops every request and stream of this client. */
  signal?: AbortSignal | undefined;
  /** Receives one line per request: method, URL, status. Never a header, credential or token. */
  debug?: ((line: string) => void) | undefined;
  /** Retries, resumes and timeouts (retry_policy.ts); `{ attempts: 1 }` turns retries and resumes off. */
  retry?: RetryOptions | undefined;
}

/** A manifest (or index) as the registry sent it. */
export interface RegistryManifest {
  /** The media type: the document's own `mediaType`, else the `Content-Type` the registry sent. */
  readonly mediaType: string;
  /** The digest of `bytes` (sha256, or the algorithm of the digest asked for). */
  readonly digest: string;
  /** The exact bytes: digests are of these, never of a re-serialisation. */
  readonly bytes: Uint8Array;
}

/** A blob being read. */
export interface RegistryBlob {
  /** The bytes from `offset` on; checked against the digest at its end when read from offset 0 with `verify`. */
  readonly stream: ReadableStream<Uint8Array>;
  /** The blob's whole size, when the registry said. */
  readonly size: number | undefined;
  /** Where `stream` starts in the blob. */
  readonly offset: number;
}

/** Options for {@linkcode RegistryClient.getBlob}. */
export interface GetBlobOptions {
  /** Start here (`Range: bytes=OFFSET-`), to resume; the stream is then not checked (its start is missing). */
  offset?: number;
  /** The size the manifest gives: checked too. */
  size?: number;
  /** Check the digest as the bytes stream (default true); false when the caller hashes them itself. */
  verify?: boolean;
  /** From offset 0: resume a dropped transfer with a Range request (default true, unless retries are off). */
  resume?: boolean;
}

/** Manifest media types of Docker schema 1, which we refuse. */
const SCHEMA1 = [
  "application/vnd.docker.distribution.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.v1+prettyjws",
];
/** containers/image's limit for a manifest body (maxManifestBodySize): a manifest is a small JSON document. */
const MANIFEST_MAX = 4 * 1024 * 1024;
/** Redirects followed per request (blob storage often redirects once). */
const MAX_REDIRECTS = 5;

/**
 * The pull side of one registry.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { RegistryClient } from "./registry_client.ts";
 * // For the example, a registry on loopback that has one empty index (plain http: hence tlsVerify false).
 * const INDEX = "application/vnd.oci.image.index.v1+json";
 * const body = JSON.stringify({ schemaVersion: 2, mediaType: INDEX, manifests: [] });
 * await using server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) => {
 *   const path = new URL(request.url).pathname;
 *   if (path === "/v2/") return new Response("{}");
 *   if (path === "/v2/busybox/manifests/latest") return new Response(body, { headers: { "content-type": INDEX } });
 *   return new Response("{}", { status: 404 });
 * });
 * using client = new RegistryClient(`127.0.0.1:${server.addr.port}`, { tlsVerify: false });
 * const manifest = await client.getManifest("busybox", "latest", [INDEX]);
 * assert.equal(manifest.mediaType, INDEX);
 * assert.equal(new TextDecoder().decode(manifest.bytes), body);
 * ```
 */
export class RegistryClient implements Disposable {
  /** The registry as the reference names it (`docker.io`, `host:port`). */
  readonly registry: string;
  /** The host (and port) requests go to (`registry-1.docker.io` for `docker.io`). */
  readonly endpoint: string;
  /** Authentication state: challenges, credentials, cached tokens. */
  readonly auth: RegistryAuth;
  readonly #options: RegistryClientOptions;
  readonly #transport: HttpTransport;
  readonly #retry: RetryPolicy;
  #base: Promise<string> | undefined;

  constructor(registry: string, options: RegistryClientOptions = {}) {
    this.registry = registry;
    this.endpoint = registryEndpoint(registry);
    this.#options = options;
    this.#retry = retryPolicy(options.retry);
    const dir = certDirFor(this.endpoint, options);
    this.#transport = createTransport(loadTlsMaterial(dir, options.certDir !== undefined), options.tlsVerify !== false);
    this.auth = new RegistryAuth(registry, this.#transport, options);
  }

  /** Release the connections. */
  close(): void {
    this.#transport.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /** `https://HOST` (or `http://HOST` with tlsVerify false when that answers), found by pinging `/v2/` once. */
  #ping(): Promise<string> {
    this.#base ??= this.#pingOnce().catch((err) => {
      this.#base = undefined; // a later call may try again
      throw err;
    });
    return this.#base;
  }

  async #pingOnce(): Promise<string> {
    const action = `connect to registry ${this.registry}`;
    const attempt = async (scheme: "https" | "http") => {
      const url = new URL(`${scheme}://${this.endpoint}/v2/`);
      // The first contact is not retried (a wrong port should fail at once), but it has the connect timeout.
      const response = await sendWithRetry(
        (signal) => this.#transport.send({ method: "GET", url, headers: new Headers(), signal }),
        {
          policy: { ...this.#retry, attempts: 1 },
          action,
          signal: this.#options.signal,
          failed: (err) => connectionError(err, `${action} at ${url.origin}`, this.endpoint, this.#options.signal),
          retryable: () => false,
        },
      );
      this.#options.debug?.(`GET ${url} → ${response.status}`);
      if (response.status !== 200 && response.status !== 401) {
        const body = await readErrorBody(response);
        throw statusError(response, body, `${action} at ${url.origin}`, "no credentials sent to /v2/");
      }
      await response.body?.cancel();
      this.auth.setChallenges(parseAuthChallenges(response.headers.get("www-authenticate") ?? ""));
      return `${scheme}://${this.endpoint}`;
    };
    // With --tls-verify=false, plain http is asked first when the endpoint names its port: a plain-http registry (a LAN
    // mirror, a local test registry) then costs one round trip instead of a failed TLS handshake (whose first use also
    // loads the TLS stack: ~40 ms), and an https one costs one extra round trip. Nothing is given away: the ping
    // carries no credentials, an https server answers plain http on its port with 400 (or hangs up), and only a
    // registry's own answer (200 or 401) is taken. Without a port the two schemes reach two servers (80 and 443), and a
    // host that serves the registry on both would then get the credentials over plain http: https first there.
    if (this.#options.tlsVerify === false && !this.#options.signal?.aborted) {
      const plainFirst = /:\d+$/.test(this.endpoint);
      let failed: { https?: unknown; http?: unknown } = {};
      for (const scheme of plainFirst ? ["http", "https"] as const : ["https", "http"] as const) {
        try {
          return await attempt(scheme);
        } catch (err) {
          if (err instanceof Oci2LxcError && err.code === "interrupted") throw err;
          failed = { ...failed, [scheme]: err };
        }
      }
      const first = failed.https instanceof Oci2LxcError
        ? failed.https
        : connectionError(failed.https, action, this.endpoint);
      throw new Oci2LxcError("registry", `${first.message}; plain http failed too: ${(failed.http as Error).message}`, {
        cause: failed.http,
        ...(first.hint ? { hint: first.hint } : {}),
      });
    }
    return await attempt("https");
  }

  /** Send a request to `path` (under `/v2/`), authenticated for `repository`, following redirects; retried once on 401. */
  async #request(
    repository: string,
    method: "GET" | "HEAD",
    path: string,
    headers: Headers,
    action: string,
  ): Promise<Response> {
    const base = await this.#ping();
    // Two rounds at most: the second after a 401 with a renewed token.
    for (let round = 0;; round++) {
      const authorization = await this.auth.authorization(repository);
      const response = await this.#follow(method, new URL(`${base}/v2/${path}`), headers, authorization, action);
      if (response.status !== 401 || round > 0 || !this.auth.renew(repository, response)) return response;
      await response.body?.cancel();
    }
  }

  async #follow(
    method: "GET" | "HEAD",
    first: URL,
    headers: Headers,
    authorization: string | undefined,
    action: string,
  ): Promise<Response> {
    let url = first;
    for (let hop = 0;; hop++) {
      const sent = new Headers(headers);
      // Credentials go only to the registry's own origin, never to the storage a blob redirects to.
      if (authorization && url.origin === first.origin) sent.set("authorization", authorization);
      // Retried on connection errors, 5xx and 429 (retry_policy.ts); an unknown host or a TLS failure is not.
      const response = await sendWithRetry((signal) => this.#transport.send({ method, url, headers: sent, signal }), {
        policy: this.#retry,
        action,
        signal: this.#options.signal,
        failed: (err) => connectionError(err, `${action} at ${url.origin}`, url.host, this.#options.signal),
        retryable: (err) => !/ is unknown \(|: TLS failed \(/.test(err.message),
      });
      this.#options.debug?.(`${method} ${url.origin}${url.pathname} → ${response.status}`);
      const location = response.headers.get("location");
      if (![301, 302, 303, 307, 308].includes(response.status) || !location) return response;
      await response.body?.cancel();
      if (hop >= MAX_REDIRECTS) {
        throw new Oci2LxcError("registry", `Cannot ${action}: more than ${MAX_REDIRECTS} redirects`, {
          hint: "The registry is misconfigured; tell its operator",
        });
      }
      url = new URL(location, url);
      if (url.protocol !== "https:" && !(url.protocol === "http:" && first.protocol === "http:")) {
        throw new Oci2LxcError("registry", `Cannot ${action}: the registry redirects to ${url.protocol} from https`, {
          hint: "The registry is misconfigured; tell its operator",
        });
      }
    }
  }

  async #fail(repository: string, response: Response, action: string): Promise<never> {
    const body = await readErrorBody(response);
    const error = statusError(response, body, action, await this.auth.credentialsNote(repository));
    const note = attemptsNote(response);
    throw note
      ? new Oci2LxcError(error.code, `${error.message}${note}`, error.hint ? { hint: error.hint } : {})
      : error;
  }

  /**
   * Read a manifest or index by tag or digest.
   *
   * @param accept the media types the caller reads, sent as `Accept`
   * @throws {Oci2LxcError} code "registry" for a missing tag or repository (told apart), a refusal or a network
   *   failure; code "image" for Docker schema 1 or a body over 4 MiB; code "digest" when asked by digest and the
   *   bytes differ
   */
  async getManifest(repository: string, reference: string, accept: readonly string[]): Promise<RegistryManifest> {
    const name = `${this.registry}/${repository}`;
    const byDigest = reference.includes(":");
    const action = `read manifest ${byDigest ? shortDigest(reference) : reference} of ${name}`;
    const expected = byDigest ? parseDigest(reference, `the manifest reference of ${name}`) : undefined;
    const response = await this.#request(
      repository,
      "GET",
      `${repository}/manifests/${reference}`,
      new Headers({ accept: accept.join(", ") }),
      action,
    );
    if (response.status === 404) {
      const body = await readErrorBody(response);
      throw await this.#notFound(repository, reference, byDigest, response, body, action);
    }
    if (!response.ok) return await this.#fail(repository, response, action);
    const bytes = await readAtMost(response, MANIFEST_MAX, action);
    const hasher = new Hasher(expected?.algorithm ?? "sha256");
    hasher.update(bytes);
    const digest = hasher.digest();
    if (expected && digest !== expected.text) {
      throw new DigestMismatchError(
        `manifest of ${name}`,
        expected.text,
        digest,
        `Cannot ${action}: the registry sent a manifest whose digest is ${digest}`,
        "The registry or something between it and us changed the manifest; try again, or ask the registry's operator",
      );
    }
    const mediaType = manifestMediaType(bytes, response.headers.get("content-type"));
    if (SCHEMA1.includes(mediaType)) {
      throw new Oci2LxcError(
        "image",
        `Cannot ${action}: it is a Docker schema 1 manifest (${mediaType}), which oci2lxc does not read`,
        {
          hint:
            "Schema 1 is deprecated; push the image again with a current docker, podman or skopeo (schema 2 or OCI)",
        },
      );
    }
    return { mediaType, digest, bytes };
  }

  /**
   * What a tag (or digest) names, asked with `HEAD`: the digest and media type the registry states, without the body.
   * A fleet with a blob cache then resolves a tag at no cost in Docker Hub's pull quota (which counts manifest GETs,
   * not HEADs), and reads the manifest from the cache or by digest. Undefined when the answer does not state both (a
   * registry that omits `Docker-Content-Digest`, a media type we do not read, a 404): the caller asks with `GET`,
   * which also says precisely what is wrong.
   *
   * @throws {Oci2LxcError} code "registry" when the registry cannot be reached or refuses us
   */
  async headManifest(
    repository: string,
    reference: string,
    accept: readonly string[],
  ): Promise<{ digest: string; mediaType: string } | undefined> {
    const name = `${this.registry}/${repository}`;
    const action = `look up manifest ${reference.includes(":") ? shortDigest(reference) : reference} of ${name}`;
    const response = await this.#request(
      repository,
      "HEAD",
      `${repository}/manifests/${reference}`,
      new Headers({ accept: accept.join(", ") }),
      action,
    );
    await response.body?.cancel();
    if (!response.ok) return undefined;
    const digest = response.headers.get("docker-content-digest") ?? "";
    const mediaType = (response.headers.get("content-type") ?? "").split(";")[0]!.trim();
    if (!/^sha(256:[0-9a-f]{64}|512:[0-9a-f]{128})$/.test(digest) || !accept.includes(mediaType)) return undefined;
    // Asked by digest, the answer must be that digest.
    if (reference.includes(":") && reference !== digest) return undefined;
    return { digest, mediaType };
  }

  /** A 404 for a manifest: a missing tag or digest, or a missing repository (distribution 2.8 says MANIFEST_UNKNOWN for both: its tag list tells). */
  async #notFound(
    repository: string,
    reference: string,
    byDigest: boolean,
    response: Response,
    body: Awaited<ReturnType<typeof readErrorBody>>,
    action: string,
  ): Promise<Oci2LxcError> {
    let repositoryMissing = body?.code === "NAME_UNKNOWN";
    let tags: string[] | undefined;
    if (!repositoryMissing) {
      const list = await this.#request(repository, "GET", `${repository}/tags/list?n=10`, new Headers(), action)
        .catch(() => undefined);
      if (list?.status === 404) repositoryMissing = (await readErrorBody(list))?.code === "NAME_UNKNOWN";
      else if (list?.ok) {
        const parsed = await list.json().catch(() => undefined) as { tags?: unknown } | undefined;
        if (Array.isArray(parsed?.tags)) tags = parsed.tags.filter((t): t is string => typeof t === "string");
      } else await list?.body?.cancel();
    }
    const status = describeStatus(response, body);
    if (repositoryMissing) {
      return new Oci2LxcError(
        "registry",
        `Cannot ${action}: the registry has no repository ${repository} (${status}), or these credentials may not see it`,
        { hint: `Check the name in the reference; ${await this.auth.credentialsNote(repository)}` },
      );
    }
    const what = byDigest ? `manifest ${reference}` : `tag ${JSON.stringify(reference)}`;
    const some = tags && tags.length > 0
      ? `; it has ${tags.slice(0, 10).map((t) => JSON.stringify(t)).join(", ")}`
      : "";
    return new Oci2LxcError("registry", `Cannot ${action}: the repository has no ${what} (${status})${some}`, {
      hint: byDigest ? "Check the digest in the reference" : "Check the tag in the reference",
    });
  }

  /**
   * Read a blob as a stream, from its start or from `offset`.
   *
   * @throws {Oci2LxcError} code "registry" when it is missing, refused or unreachable; the stream errors with a
   *   {@linkcode DigestMismatchError} at its end when the bytes do not match
   */
  async getBlob(repository: string, digest: string, options: GetBlobOptions = {}): Promise<RegistryBlob> {
    const name = `${this.registry}/${repository}`;
    const action = `read blob ${shortDigest(digest)} of ${name}`;
    const expected = parseDigest(digest, `a blob reference of ${name}`);
    const offset = options.offset ?? 0;
    if (offset === 0 && options.resume !== false && this.#retry.attempts > 1) {
      const fetchFrom = async (from: number) =>
        await this.getBlob(repository, digest, { ...options, offset: from, verify: false, resume: false });
      return await resumableBlob(
        fetchFrom,
        digest,
        options,
        this.#retry,
        action,
        `blob ${digest} of ${name}`,
        this.#options.signal,
      );
    }
    const headers = new Headers();
    if (offset > 0) headers.set("range", `bytes=${offset}-`);
    const response = await this.#request(repository, "GET", `${repository}/blobs/${digest}`, headers, action);
    if (response.status === 404) {
      const body = await readErrorBody(response);
      throw new Oci2LxcError(
        "registry",
        `Cannot ${action}: the registry does not have it (${describeStatus(response, body)})`,
        {
          hint: "The image in the registry is incomplete; push it again",
        },
      );
    }
    if (!response.ok || !response.body) return await this.#fail(repository, response, action);
    const length = Number(response.headers.get("content-length") ?? NaN);
    let stream: ReadableStream<Uint8Array> = response.body;
    let size: number | undefined;
    if (response.status === 206) {
      const total = /\/(\d+)$/.exec(response.headers.get("content-range") ?? "")?.[1];
      size = total === undefined ? options.size : Number(total);
    } else {
      size = Number.isFinite(length) ? length : options.size;
      // The registry ignored the range: skip what the caller already has.
      if (offset > 0) stream = stream.pipeThrough(skipBytes(offset));
    }
    if (options.size !== undefined && size !== undefined && size !== options.size) {
      await stream.cancel();
      throw new DigestMismatchError(
        `blob ${digest} of ${name}`,
        `${options.size} bytes`,
        `${size} bytes`,
        `Cannot ${action}: the registry says it has ${size} bytes, the manifest says ${options.size}`,
        "The image in the registry is inconsistent; push it again",
      );
    }
    if (offset === 0 && options.verify !== false) {
      stream = stream.pipeThrough(
        verifyBlob(expected.algorithm, digest, options.size, `blob ${digest} of ${name}`, action),
      );
    }
    return { stream, size, offset };
  }

  /**
   * The size of a blob, or undefined when the registry does not have it.
   *
   * @throws {Oci2LxcError} code "registry" when refused or unreachable
   */
  async headBlob(repository: string, digest: string): Promise<{ size: number | undefined } | undefined> {
    const name = `${this.registry}/${repository}`;
    const action = `look up blob ${shortDigest(digest)} of ${name}`;
    parseDigest(digest, `a blob reference of ${name}`);
    const response = await this.#request(repository, "HEAD", `${repository}/blobs/${digest}`, new Headers(), action);
    if (response.status === 404) {
      await response.body?.cancel();
      return undefined;
    }
    if (!response.ok) return await this.#fail(repository, response, action);
    await response.body?.cancel();
    const length = Number(response.headers.get("content-length") ?? NaN);
    return { size: Number.isFinite(length) ? length : undefined };
  }
}

/** The media type of a manifest: its own `mediaType` field, else the header, else schema 1 when it says so. */
function manifestMediaType(bytes: Uint8Array, contentType: string | null): string {
  let doc: { mediaType?: unknown; schemaVersion?: unknown } | undefined;
  try {
    doc = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    doc = undefined;
  }
  if (doc?.schemaVersion === 1) return SCHEMA1[1]!;
  if (typeof doc?.mediaType === "string" && doc.mediaType !== "") return doc.mediaType;
  return (contentType ?? "").split(";")[0]!.trim();
}

/** Read a whole body, refusing one longer than `max`. */
async function readAtMost(response: Response, max: number, action: string): Promise<Uint8Array> {
  const declared = Number(response.headers.get("content-length") ?? NaN);
  const tooBig = () =>
    new Oci2LxcError("image", `Cannot ${action}: the manifest is larger than ${max} bytes`, {
      hint: "A manifest is a small JSON document; check the reference",
    });
  if (declared > max) {
    await response.body?.cancel();
    throw tooBig();
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (response.body) {
    for await (const chunk of response.body) {
      size += chunk.length;
      if (size > max) throw tooBig();
      chunks.push(chunk);
    }
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.length;
  }
  return bytes;
}

/** Drop the first `count` bytes of a stream. */
function skipBytes(count: number): TransformStream<Uint8Array, Uint8Array> {
  let left = count;
  return new TransformStream({
    transform(chunk, controller) {
      if (left >= chunk.length) left -= chunk.length;
      else {
        controller.enqueue(left > 0 ? chunk.subarray(left) : chunk);
        left = 0;
      }
    },
  });
}

/** Pass bytes through, hashing them; at the end, error the stream when the digest (or size) differs. */
function verifyBlob(
  algorithm: "sha256" | "sha512",
  digest: string,
  size: number | undefined,
  what: string,
  action: string,
): TransformStream<Uint8Array, Uint8Array> {
  const hasher = new Hasher(algorithm);
  const hint =
    "The registry or something between it and us changed the bytes; run again, or ask the registry's operator";
  return new TransformStream({
    transform(chunk, controller) {
      hasher.update(chunk);
      controller.enqueue(chunk);
    },
    flush() {
      if (size !== undefined && hasher.size !== size) {
        throw new DigestMismatchError(
          what,
          `${size} bytes`,
          `${hasher.size} bytes`,
          `Cannot ${action}: it has ${hasher.size} bytes, the manifest says ${size}`,
          hint,
        );
      }
      const actual = hasher.digest();
      if (actual !== digest) {
        throw new DigestMismatchError(what, digest, actual, `Cannot ${action}: its digest is ${actual}`, hint);
      }
    },
  });
}
