/**
 * A blob transfer that survives dropped connections: when the body errors (a reset, a stall), it waits as the retry
 * policy says and asks again with `Range: bytes=N-` from the last byte received, so nothing is downloaded twice. The
 * digest is computed over the whole stream across resumes, and checked at its end, so the reader gets the bytes of
 * the blob or an error, never a splice of two different bodies.
 *
 * @module
 */
import { Hasher, parseDigest } from "../digest.ts";
import { describeError, DigestMismatchError, Oci2LxcError } from "../errors.ts";
import type { GetBlobOptions, RegistryBlob } from "./registry_client.ts";
import { retryDelay, type RetryPolicy, sleep } from "./retry_policy.ts";

/** Progress since the last drop that earns a fresh retry budget: a long transfer over a flaky link keeps going. */
const PROGRESS_RESETS_BUDGET = 1 << 20;
/** Resumes per transfer at most, whatever the progress (bounded). */
const MAX_RESUMES = 100;

/** The part of the client a resumable transfer uses: one ranged, unverified request. */
export type BlobFetcher = (offset: number) => Promise<RegistryBlob>;

/**
 * Open a blob that resumes. `fetch(offset)` asks for the blob from `offset` without verifying it (the client's
 * `getBlob` with `verify: false` and no resume of its own); `what` names the blob in a mismatch ("blob sha256:… of
 * host/repo").
 */
export async function resumableBlob(
  fetch: BlobFetcher,
  digest: string,
  options: GetBlobOptions,
  policy: RetryPolicy,
  action: string,
  what: string,
  signal: AbortSignal | undefined,
): Promise<RegistryBlob> {
  const first = await fetch(0);
  const expected = parseDigest(digest, action);
  const size = options.size ?? first.size;
  const hasher = new Hasher(expected.algorithm);
  let current = first.stream.getReader();
  let received = 0;
  let failures = 0;
  let resumes = 0;
  let sinceDrop = 0;
  const hint =
    "The registry or something between it and us changed the bytes; run again, or ask the registry's operator";
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      for (;;) {
        let chunk: ReadableStreamReadResult<Uint8Array>;
        try {
          chunk = await current.read();
        } catch (err) {
          if (signal?.aborted || (err instanceof Oci2LxcError && err.code !== "registry")) throw err;
          if (sinceDrop >= PROGRESS_RESETS_BUDGET) failures = 0;
          failures++;
          resumes++;
          sinceDrop = 0;
          if (failures >= policy.attempts || resumes > MAX_RESUMES) {
            throw new Oci2LxcError(
              "registry",
              `Cannot ${action}: the transfer broke off ${resumes} times, the last at byte ${received}${
                size === undefined ? "" : ` of ${size}`
              } (${describeError(err)})`,
              { cause: err, hint: "Check the network and the registry, then run again" },
            );
          }
          const delayMs = retryDelay(policy, failures);
          policy.onRetry?.({
            action,
            reason: describeError(err),
            attempt: failures + 1,
            attempts: policy.attempts,
            delayMs,
            resumeAt: received,
          });
          await sleep(delayMs, signal, action);
          current = (await fetch(received)).stream.getReader();
          continue;
        }
        if (chunk.done) {
          if (options.verify === false) return controller.close();
          if (size !== undefined && received !== size) {
            throw new DigestMismatchError(
              what,
              `${size} bytes`,
              `${received} bytes`,
              `Cannot ${action}: it has ${received} bytes, the manifest says ${size}`,
              hint,
            );
          }
          const actual = hasher.digest();
          if (actual !== expected.text) {
            throw new DigestMismatchError(
              what,
              expected.text,
              actual,
              `Cannot ${action}: its digest is ${actual}`,
              hint,
            );
          }
          return controller.close();
        }
        // Not hashed when the caller hashes anyway (the layer reader does): one pass over the bytes, not two.
        if (options.verify !== false) hasher.update(chunk.value);
        received += chunk.value.length;
        sinceDrop += chunk.value.length;
        controller.enqueue(chunk.value);
        return;
      }
    },
    cancel: (reason) => current.cancel(reason),
  }, { highWaterMark: 0 });
  return { stream, size, offset: 0 };
}
