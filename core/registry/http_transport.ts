/**
 * How requests reach a registry. Verified TLS and plain http go through Deno's `fetch` with a client made by
 * `Deno.createHttpClient` (the system's CAs plus the `certs.d` ones, a client certificate if any). Deno's `fetch`
 * cannot skip certificate checks for one client (only the process-wide `--unsafely-ignore-certificate-errors` can),
 * so `--tls-verify=false` over https goes through `node:https` with `rejectUnauthorized: false`, for that registry
 * only. Redirects are not followed here: the client follows them, to drop `Authorization` when the origin changes.
 *
 * @module
 */
import https from "node:https";
import { Readable } from "node:stream";
import type { TlsMaterial } from "./cert_dir.ts";

/** One request: no body (the client only reads). */
export interface HttpRequest {
  readonly method: "GET" | "HEAD";
  readonly url: URL;
  readonly headers: Headers;
  readonly signal?: AbortSignal | undefined;
}

/** Sends requests to one registry; `close()` releases its connections. */
export interface HttpTransport {
  send(request: HttpRequest): Promise<Response>;
  close(): void;
}

/** A transport over `fetch` that checks certificates against `tls`. */
function fetchTransport(tls: TlsMaterial): HttpTransport {
  const client = Deno.createHttpClient({
    caCerts: [...tls.caCerts],
    ...(tls.clientCert ? { cert: tls.clientCert.cert, key: tls.clientCert.key } : {}),
  });
  return {
    send: (request) =>
      fetch(request.url, {
        method: request.method,
        headers: request.headers,
        redirect: "manual",
        client,
        ...(request.signal ? { signal: request.signal } : {}),
      }),
    close: () => client.close(),
  };
}

/** A transport over `node:https` that does not check the server's certificate (`--tls-verify=false`). */
function unverifiedTransport(tls: TlsMaterial, plain: HttpTransport): HttpTransport {
  const agent = new https.Agent({ keepAlive: true, rejectUnauthorized: false });
  const send = (request: HttpRequest) =>
    new Promise<Response>((resolve, reject) => {
      const headers: Record<string, string> = {};
      request.headers.forEach((value, name) => headers[name] = value);
      const req = https.request({
        agent,
        protocol: "https:",
        hostname: request.url.hostname.replace(/^\[(.*)\]$/, "$1"),
        port: request.url.port || 443,
        path: `${request.url.pathname}${request.url.search}`,
        method: request.method,
        headers,
        rejectUnauthorized: false,
        // Unchecked anyway; given CAs, node:tls does not load the system's roots (which needs --allow-sys).
        ...(tls.caCerts.length > 0 ? { ca: [...tls.caCerts] } : {}),
        ...(tls.clientCert ? { cert: tls.clientCert.cert, key: tls.clientCert.key } : {}),
      }, (res) => {
        const responseHeaders = new Headers();
        for (const [name, value] of Object.entries(res.headers)) {
          if (Array.isArray(value)) { for (const v of value) responseHeaders.append(name, v); }
          else if (value !== undefined) responseHeaders.set(name, String(value));
        }
        const status = res.statusCode ?? 502;
        const empty = request.method === "HEAD" || status === 204 || status === 304;
        if (empty) res.resume();
        const body = empty ? null : Readable.toWeb(res) as unknown as ReadableStream<Uint8Array>;
        resolve(new Response(body, { status, statusText: res.statusMessage ?? "", headers: responseHeaders }));
      });
      req.on("error", reject);
      const abort = () => req.destroy(request.signal?.reason ?? new Error("aborted"));
      if (request.signal?.aborted) abort();
      else request.signal?.addEventListener("abort", abort, { once: true });
      req.end();
    });
  return {
    send: (request) => request.url.protocol === "https:" ? send(request) : plain.send(request),
    close: () => {
      agent.destroy();
      plain.close();
    },
  };
}

/**
 * A transport for one registry: certificates checked against `tls` unless `verify` is false.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { createTransport } from "./http_transport.ts";
 * const transport = createTransport({ caCerts: [], clientCert: undefined, dir: undefined }, true);
 * assert.equal(typeof transport.close, "function");
 * transport.close();
 * ```
 */
export function createTransport(tls: TlsMaterial, verify: boolean): HttpTransport {
  const plain = fetchTransport(tls);
  return verify ? plain : unverifiedTransport(tls, plain);
}
