/**
 * A fault proxy for tests: an HTTP server on 127.0.0.1 that passes requests on to a test registry (plain http) and
 * breaks the answers the test asks it to, the way networks and busy registries do: a connection dropped in the
 * middle of a body, `429 Too Many Requests` with `Retry-After`, `503 Service Unavailable`, a flipped byte, a response
 * that stalls after its first bytes (until the test releases it or the proxy closes: bounded; then cut, or with `hold`
 * continued). Every request it sees is recorded, and {@linkcode FaultProxy.seen} waits for one.
 *
 * @module
 */

/** What to do to a matching request. */
export type Fault =
  /** Send the status line and the first `after` bytes of the body, then cut the connection. */
  | { kind: "drop"; after: number }
  /** Answer 429 with `Retry-After: seconds`, without asking the registry. */
  | { kind: "429"; retryAfter: number }
  /** Answer 503, without asking the registry. */
  | { kind: "503" }
  /** Pass the body with the byte at `at` changed. */
  | { kind: "flip"; at: number }
  /** Send the first `after` bytes of the body, then nothing until {@linkcode FaultProxy.release} or close. */
  | { kind: "stall"; after: number }
  /** As `stall`, but on release the rest of the body follows: a slow response, not a broken one. */
  | { kind: "hold"; after: number };

/** A fault for requests whose method and path match `match` (`GET /v2/x/blobs/sha256:…`); `times` how often. */
export interface FaultRule {
  match: RegExp;
  fault: Fault;
  /** How many matching requests get it; default every one. */
  times?: number;
}

/** A running fault proxy; `await using` closes it. */
export class FaultProxy implements AsyncDisposable {
  /** `127.0.0.1:PORT`: the registry part of a `docker://` reference through the proxy. */
  readonly host: string;
  /** `METHOD PATH → STATUS[ fault]` of every request, in order. */
  readonly requests: string[] = [];
  readonly #rules: FaultRule[] = [];
  readonly #upstream: string;
  readonly #server: Deno.HttpServer<Deno.NetAddr>;
  readonly #stalled = new Set<() => void>();
  readonly #waiters = new Set<{ test: () => boolean; resolve: () => void }>();
  #closed = false;
  /** Resolves when a stalled response has sent its first bytes (for a test that acts then). */
  stalled: Promise<void>;
  #onStall!: () => void;

  /** @param upstream the registry's `HOST:PORT` (plain http) */
  constructor(upstream: string) {
    this.#upstream = upstream;
    this.stalled = new Promise((resolve) => this.#onStall = resolve);
    this.#server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (r) => this.#handle(r));
    this.host = `127.0.0.1:${this.#server.addr.port}`;
  }

  /**
   * Resolves when a request whose `METHOD PATH` matches `match` has arrived (also one seen before); rejects after
   * `limitMs` so that a test waiting for something that never comes fails instead of hanging.
   */
  seen(match: RegExp, limitMs = 30_000): Promise<void> {
    const found = () => this.requests.some((line) => match.test(line.split(" → ")[0]!));
    if (found()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter = { test: found, resolve };
      const timer = setTimeout(() => {
        this.#waiters.delete(waiter);
        reject(new Error(`fault proxy: no request matching ${match} in ${limitMs} ms: ${this.requests.join("; ")}`));
      }, limitMs);
      waiter.resolve = () => {
        clearTimeout(timer);
        resolve();
      };
      this.#waiters.add(waiter);
    });
  }

  #record(line: string): void {
    this.requests.push(line);
    for (const waiter of [...this.#waiters]) {
      if (waiter.test()) {
        this.#waiters.delete(waiter);
        waiter.resolve();
      }
    }
  }

  /** Add a rule; the first matching rule with uses left applies. */
  add(rule: FaultRule): this {
    this.#rules.push({ ...rule });
    return this;
  }

  /** Let every stalled response end (with a cut connection: the rest of the body is never sent). */
  release(): void {
    for (const end of this.#stalled) end();
    this.#stalled.clear();
  }

  #take(line: string): Fault | undefined {
    for (const rule of this.#rules) {
      if (!rule.match.test(line) || rule.times === 0) continue;
      if (rule.times !== undefined) rule.times--;
      return rule.fault;
    }
    return undefined;
  }

  async #handle(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const line = `${request.method} ${url.pathname}`;
    const fault = this.#take(line);
    if (fault?.kind === "429") {
      this.#record(`${line} → 429 fault`);
      return new Response('{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}', {
        status: 429,
        headers: { "retry-after": String(fault.retryAfter), "content-type": "application/json" },
      });
    }
    if (fault?.kind === "503") {
      this.#record(`${line} → 503 fault`);
      return new Response("unavailable", { status: 503 });
    }
    const headers = new Headers(request.headers);
    headers.delete("host");
    const upstream = await fetch(`http://${this.#upstream}${url.pathname}${url.search}`, {
      method: request.method,
      headers,
      redirect: "manual",
    });
    this.#record(`${line} → ${upstream.status}${fault ? ` ${fault.kind} fault` : ""}`);
    const out = new Headers(upstream.headers);
    if (!fault || !upstream.body || request.method === "HEAD") {
      return new Response(upstream.body, { status: upstream.status, headers: out });
    }
    return new Response(this.#damage(upstream.body, fault), { status: upstream.status, headers: out });
  }

  /** The body with `fault` applied. */
  #damage(body: ReadableStream<Uint8Array>, fault: Fault): ReadableStream<Uint8Array> {
    const reader = body.getReader();
    let at = 0;
    let rest: Uint8Array | undefined;
    let limit = fault.kind === "drop" || fault.kind === "stall" || fault.kind === "hold" ? fault.after : Infinity;
    return new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        if (at >= limit) {
          if (fault.kind !== "hold") await reader.cancel();
          if (fault.kind === "stall" || fault.kind === "hold") {
            this.#onStall();
            // Bounded: it ends when the test releases it or the proxy closes.
            await new Promise<void>((resolve) => this.#stalled.add(resolve));
          }
          if (fault.kind !== "hold" || this.#closed) {
            await reader.cancel().catch(() => {});
            controller.error(new Error("fault proxy: connection cut"));
            return;
          }
          limit = Infinity;
        }
        // What is beyond `limit` in a chunk waits in `rest` (a held response sends it after its release).
        let value = rest;
        rest = undefined;
        if (!value) {
          const read = await reader.read();
          if (read.done) {
            controller.close();
            return;
          }
          value = read.value;
        }
        let chunk = value.subarray(0, Math.min(value.length, limit - at));
        if (chunk.length < value.length) rest = value.subarray(chunk.length);
        if (fault.kind === "flip" && fault.at >= at && fault.at < at + chunk.length) {
          chunk = chunk.slice();
          chunk[fault.at - at] = chunk[fault.at - at]! ^ 0x01;
        }
        at += chunk.length;
        controller.enqueue(chunk);
      },
      cancel: () => reader.cancel(),
    });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.#closed = true;
    this.release();
    await this.#server.shutdown();
  }
}
