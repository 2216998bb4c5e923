/**
 * Retries and resumes against the real registry (tests/_helpers/registry.ts) through a fault proxy of this test's own
 * (tests/registry/_fault_proxy.ts): blob bodies cut at random offsets resume with Range requests to the right bytes,
 * no byte downloaded twice; a stalled body is resumed after the stall timeout; 429 with `Retry-After: 1` is waited
 * out; an endless 503 ends in one clear error after the retry budget. Backoff waits are shortened; Retry-After is not.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { Oci2LxcError } from "../../core/errors.ts";
import { RegistryClient } from "../../core/registry/registry_client.ts";
import type { RetryEvent } from "../../core/registry/retry_policy.ts";
import { startRegistry } from "../_helpers/registry.ts";
import { FaultProxy } from "./_fault_proxy.ts";

const ACCEPT = ["application/vnd.oci.image.manifest.v1+json"];
const sha256 = (bytes: Uint8Array) => `sha256:${createHash("sha256").update(bytes).digest("hex")}`;

async function setUp() {
  const registry = await startRegistry("http");
  await registry.seed("busybox.oci.tar", "busybox:latest");
  const proxy = new FaultProxy(registry.host);
  const events: RetryEvent[] = [];
  const client = (options: { attempts?: number; stallTimeoutMs?: number } = {}) =>
    new RegistryClient(proxy.host, {
      tlsVerify: false,
      env: {},
      retry: { baseDelayMs: 10, maxDelayMs: 50, onRetry: (e) => events.push(e), ...options },
    });
  return { registry, proxy, events, client };
}

/** The largest layer of busybox:latest: digest and size. */
async function biggestLayer(client: RegistryClient): Promise<{ digest: string; size: number }> {
  const manifest = JSON.parse(new TextDecoder().decode((await client.getManifest("busybox", "latest", ACCEPT)).bytes));
  return [...manifest.layers].sort((a, b) => b.size - a.size)[0];
}

Deno.test("a blob body cut at random offsets resumes from each cut with Range: the right bytes, none sent twice", async () => {
  const { registry, proxy, events, client } = await setUp();
  await using _r = registry;
  await using _p = proxy;
  using c = client();
  const layer = await biggestLayer(c);
  // Three distinct random offsets inside the blob (printed on failure to reproduce).
  const cuts = [...new Set(Array.from({ length: 3 }, () => 1 + Math.floor(Math.random() * (layer.size - 2))))].sort((
    a,
    b,
  ) => a - b);
  proxy.faults.cutAt = [...cuts];
  const blob = await c.getBlob("busybox", layer.digest, { size: layer.size });
  const bytes = new Uint8Array(await new Response(blob.stream).arrayBuffer());
  assert.equal(sha256(bytes), layer.digest, `cuts at ${cuts}`);
  const requests = proxy.blobRequests.filter((r) => r.digest === layer.digest);
  assert.deepEqual(requests.map((r) => r.start), [0, ...cuts], `one request from 0, then one from each cut`);
  assert.equal(requests.reduce((sum, r) => sum + r.sent, 0), layer.size, "no byte sent twice");
  assert.ok(requests.slice(1).every((r) => r.status === 206), "the resumes were ranged (206)");
  assert.deepEqual(events.map((e) => e.resumeAt), cuts, "each resume was reported with its offset");
});

Deno.test("a stalled blob body is given up after the stall timeout and resumed where it stopped", async () => {
  const { registry, proxy, events, client } = await setUp();
  await using _r = registry;
  await using _p = proxy;
  using c = client({ stallTimeoutMs: 300 });
  const layer = await biggestLayer(c);
  const stallAt = Math.floor(layer.size / 3);
  proxy.faults.stallAt = stallAt;
  const blob = await c.getBlob("busybox", layer.digest, { size: layer.size });
  const bytes = new Uint8Array(await new Response(blob.stream).arrayBuffer());
  assert.equal(sha256(bytes), layer.digest);
  assert.deepEqual(events.map((e) => e.resumeAt), [stallAt]);
  assert.match(events[0]!.reason, /stalled/);
});

Deno.test("429 with Retry-After: 1 is waited out, and the wait reported", async () => {
  const { registry, proxy, events, client } = await setUp();
  await using _r = registry;
  await using _p = proxy;
  using c = client();
  proxy.faults.status = { code: 429, retryAfter: "1", times: 2 };
  const manifest = await c.getManifest("busybox", "latest", ACCEPT);
  assert.equal(manifest.mediaType, ACCEPT[0]);
  assert.equal(proxy.statusAnswers, 2);
  assert.deepEqual(events.map((e) => [e.delayMs, e.attempt]), [[1000, 2], [1000, 3]]);
  assert.match(events[0]!.reason, /^429 .*\(Retry-After 1\)$/);
});

Deno.test("an endless 503 ends in one clear error after the retry budget", async () => {
  const { registry, proxy, events, client } = await setUp();
  await using _r = registry;
  await using _p = proxy;
  using c = client({ attempts: 3 });
  proxy.faults.status = { code: 503, times: Infinity };
  await assert.rejects(c.getManifest("busybox", "latest", ACCEPT), (err: unknown) => {
    assert.ok(err instanceof Oci2LxcError && err.code === "registry", String(err));
    assert.equal(
      err.message,
      `Cannot read manifest latest of ${proxy.host}/busybox: the registry answered 503 UNAVAILABLE: "fault proxy"; ` +
        "tried 3 times",
    );
    assert.match(err.hint ?? "", /try again later/);
    return true;
  });
  assert.equal(proxy.statusAnswers, 3, "three tries, no more");
  assert.equal(events.length, 2);
});

Deno.test("a registry that accepts connections but never answers ends in a timeout error, not a hang", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const conn of listener) held.push(conn); // never answered
  })();
  try {
    using c = new RegistryClient(`127.0.0.1:${(listener.addr as Deno.NetAddr).port}`, {
      tlsVerify: false,
      env: {},
      retry: { connectTimeoutMs: 200, baseDelayMs: 10 },
    });
    await assert.rejects(c.getManifest("busybox", "latest", ACCEPT), (err: unknown) => {
      assert.ok(err instanceof Oci2LxcError && err.code === "registry", String(err));
      assert.match(err.message, /^Cannot connect to registry 127\.0\.0\.1:\d+ at https:.*: no answer within 0\.2 s/);
      return true;
    });
  } finally {
    listener.close();
    await accepting.catch(() => {});
    for (const conn of held) conn.close();
  }
});
