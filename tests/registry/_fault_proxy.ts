/**
 * A small HTTP proxy on 127.0.0.1 between the client and a real test registry, which does to registry requests what
 * networks and busy registries do: it cuts a blob's body at given byte offsets of the blob (the connection breaks
 * mid-transfer), stalls one, or answers a status (429 with Retry-After, 503) instead of the registry. It records
 * every blob request: where it started (its Range) and how many bytes of the blob it sent.
 */

/** One blob GET the proxy forwarded. */
export interface BlobRequest {
  readonly digest: string;
  /** The offset its Range asked for (0 without a Range). */
  readonly start: number;
  /** Bytes of the body sent before it ended or was cut. */
  sent: number;
  status: number;
}

/** What to do to the next requests. */
export interface Faults {
  /** Cut blob bodies at these offsets of the blob, each once (a request that starts past one cuts at the next). */
  cutAt: number[];
  /** Cut only requests for this blob (default: any blob, the first request that starts before a cut takes it). */
  cutDigest?: string | undefined;
  /** Stop sending a blob body at this offset, once, and send nothing more until the client gives up. */
  stallAt?: number | undefined;
  /** Answer this instead of forwarding, for `times` requests to manifests or blobs (Infinity: always). */
  status?: { code: number; retryAfter?: string; times: number } | undefined;
}

/** The proxy; `await using` stops it. */
export class FaultProxy implements AsyncDisposable {
  readonly host: string;
  readonly faults: Faults = { cutAt: [] };
  readonly blobRequests: BlobRequest[] = [];
  /** Requests to manifests and blobs answered with `faults.status`. */
  statusAnswers = 0;
  readonly #server: Deno.HttpServer<Deno.NetAddr>;
  readonly #upstream: string;

  constructor(upstream: string) {
    this.#upstream = upstream;
    this.#server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (r) => this.#handle(r));
    this.host = `127.0.0.1:${this.#server.addr.port}`;
  }

  async #handle(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const status = this.faults.status;
    if (status && status.times > 0 && /\/(manifests|blobs)\//.test(url.pathname)) {
      status.times--;
      this.statusAnswers++;
      return Response.json({ errors: [{ code: "UNAVAILABLE", message: "fault proxy" }] }, {
        status: status.code,
        headers: status.retryAfter ? { "retry-after": status.retryAfter } : {},
      });
    }
    const headers = new Headers(request.headers);
    headers.delete("host");
    const upstream = await fetch(`http://${this.#upstream}${url.pathname}${url.search}`, {
      method: request.method,
      headers,
      redirect: "manual",
    });
    const blob = /\/blobs\/(sha256:[a-f0-9]+)$/.exec(url.pathname);
    if (!blob || request.method !== "GET" || !upstream.body) return upstream;
    const start = Number(/^bytes=(\d+)-/.exec(request.headers.get("range") ?? "")?.[1] ?? 0);
    const record: BlobRequest = { digest: blob[1]!, start, sent: 0, status: upstream.status };
    this.blobRequests.push(record);
    const cuttable = this.faults.cutDigest === undefined || this.faults.cutDigest === blob[1];
    const cut = cuttable ? this.faults.cutAt.find((at) => at > start) : undefined;
    if (cut !== undefined) this.faults.cutAt = this.faults.cutAt.filter((at) => at !== cut);
    const stall = this.faults.stallAt !== undefined && this.faults.stallAt > start ? this.faults.stallAt : undefined;
    if (stall !== undefined) this.faults.stallAt = undefined;
    const stop = cut ?? stall;
    const reader = upstream.body.getReader();
    let at = start;
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (stop !== undefined && at >= stop) {
          if (cut !== undefined) throw new Error("fault proxy: connection cut");
          await new Promise(() => {}); // stalled: nothing more, until the client cancels
        }
        const { done, value } = await reader.read();
        if (done) return controller.close();
        const chunk = stop !== undefined && at + value.length > stop ? value.subarray(0, stop - at) : value;
        at += chunk.length;
        record.sent += chunk.length;
        controller.enqueue(chunk);
      },
      cancel: (reason) => reader.cancel(reason),
    });
    return new Response(body, { status: upstream.status, headers: upstream.headers });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.#server.shutdown();
  }
}
