/**
 * A layer that downloads ahead in the background (parallel_layers.ts) and that the registry refuses for good (an endless
 * 503 through the fault proxy, on the last layer only, while the first streams): the conversion ends in that layer's
 * error after one retry budget, not two (the writer does not try the whole budget again), with nothing at DEST and
 * nothing left in the cache's tmp/ or locks.
 */
import assert from "node:assert/strict";
import { convert } from "../../core/api.ts";
import { BlobCache } from "../../core/cache/blob_cache.ts";
import { Oci2LxcError } from "../../core/errors.ts";
import { withTempDir } from "../_helpers/oci_builder.ts";
import { FaultProxy } from "../_helpers/fault_proxy.ts";
import { startRegistry } from "../_helpers/registry.ts";
import { systemTest } from "../_helpers/tier.ts";

// whiteouts.oci.tar: busybox (1.1 MB), then two small layers; the third is refused.
const THIRD = "sha256:9a19e418b0e841a39fccde55c02b535ece403e363df24cb575911da1b67b1a2c";
/** Backoff shortened for tests; 5 tries per request, the default. */
const RETRY = { baseDelayMs: 10, maxDelayMs: 50 };

systemTest("a background download the registry refuses is that layer's error after one retry budget", async () => {
  await using registry = await startRegistry("http");
  await registry.seed("whiteouts.oci.tar", "w:1");
  await using proxy = new FaultProxy(registry.host);
  proxy.add({ match: new RegExp(`^GET /v2/w/blobs/${THIRD}$`), fault: { kind: "503" } });
  await withTempDir(async (dir) => {
    const cache = new BlobCache(`${dir}/cache`);
    const err = await convert(`docker://${proxy.host}/w:1`, `${dir}/dest`, {
      platform: "linux/amd64",
      registry: { tlsVerify: false, env: {}, retry: RETRY, cache, maxParallel: 4 },
    }).then(() => undefined, (e: unknown) => e);
    assert(err instanceof Oci2LxcError, `an Oci2LxcError, not ${err}`);
    assert.equal(err.code, "registry", err.message);
    assert.match(err.message, /^Cannot read blob sha256:9a19e418b0e8 .*answered 503.*; tried 5 times$/);
    const refused = proxy.requests.filter((r) => r.includes(THIRD) && r.endsWith("fault"));
    assert.equal(refused.length, 5, proxy.requests.join("\n"));
    assert.throws(() => Deno.statSync(`${dir}/dest`), Deno.errors.NotFound);
    assert.deepEqual([...Deno.readDirSync(`${dir}/cache/tmp`)], [], "no partial download left");
    // The layers before it were downloaded and kept; the refused one is not there.
    assert(!cache.has(THIRD));
  });
});
