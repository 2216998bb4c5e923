/**
 * When and how long a registry request is tried again, as skopeo and containers/image do: connection errors, 5xx
 * answers and 429 are retried with exponential backoff (with jitter, so a fleet that failed together does not come
 * back together), a 429's or 503's `Retry-After` is honoured up to a cap, and every wait is reported through
 * `onRetry` so the progress line can say it. A request that gets no answer headers within `connectTimeoutMs`, and a
 * body that sends nothing for `stallTimeoutMs`, count as connection errors. An unknown host and a TLS failure are
 * not retried: waiting does not fix them.
 *
 * @module
 */
import { Oci2LxcError } from "../errors.ts";

/** Retry settings of {@linkcode RegistryClient}; all optional. */
export interface RetryOptions {
  /** Tries per request, the first included (default 5; 1 turns retries off). */
  attempts?: number | undefined;
  /** The first backoff wait, doubled for each further one (default 1000 ms). */
  baseDelayMs?: number | undefined;
  /** The longest backoff wait (default 30 s). */
  maxDelayMs?: number | undefined;
  /** The longest `Retry-After` honoured (default 60 s): a registry asking for an hour gets this, then a retry. */
  maxRetryAfterMs?: number | undefined;
  /** Time to the answer's headers before the attempt counts as failed (default 30 s). */
  connectTimeoutMs?: number | undefined;
  /** Time without a byte of the body before the transfer counts as dropped (default 60 s). */
  stallTimeoutMs?: number | undefined;
  /** Told before each wait: what failed, how long we wait, which attempt comes next. */
  onRetry?: ((event: RetryEvent) => void) | undefined;
}

/** One wait before a retry or a resume. */
export interface RetryEvent {
  /** The step: "read blob sha256:ab12… of 127.0.0.1:5000/busybox". */
  readonly action: string;
  /** Why: "503 Service Unavailable", "429 Too Many Requests (Retry-After 1)", "connection reset". */
  readonly reason: string;
  /** The attempt about to be made (2 for the first retry). */
  readonly attempt: number;
  readonly attempts: number;
  readonly delayMs: number;
  /** For a blob transfer resumed with a Range request: the byte it resumes at. */
  readonly resumeAt?: number | undefined;
}

/** The settings with defaults filled in. */
export interface RetryPolicy {
  readonly attempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  readonly maxRetryAfterMs: number;
  readonly connectTimeoutMs: number;
  readonly stallTimeoutMs: number;
  readonly onRetry: ((event: RetryEvent) => void) | undefined;
}

/** The defaults. */
export const RETRY_DEFAULTS: Readonly<Omit<RetryPolicy, "onRetry">> = {
  attempts: 5,
  baseDelayMs: 1000,
  maxDelayMs: 30_000,
  maxRetryAfterMs: 60_000,
  connectTimeoutMs: 30_000,
  stallTimeoutMs: 60_000,
};

/** Fill in the defaults. */
export function retryPolicy(options: RetryOptions = {}): RetryPolicy {
  const pick = <K extends keyof typeof RETRY_DEFAULTS>(key: K) => options[key] ?? RETRY_DEFAULTS[key];
  return {
    attempts: Math.max(1, Math.floor(pick("attempts"))),
    baseDelayMs: pick("baseDelayMs"),
    maxDelayMs: pick("maxDelayMs"),
    maxRetryAfterMs: pick("maxRetryAfterMs"),
    connectTimeoutMs: pick("connectTimeoutMs"),
    stallTimeoutMs: pick("stallTimeoutMs"),
    onRetry: options.onRetry,
  };
}

/** Whether an answer is worth another try: 429, and 5xx but 501 and 505 (which say the request can never work). */
export function retryableStatus(status: number): boolean {
  return status === 429 || (status >= 500 && status !== 501 && status !== 505);
}

/**
 * The wait before attempt `attempt + 1`: `Retry-After` (seconds or an HTTP date) when the answer has one, capped;
 * else the backoff `base · 2^(attempt-1)`, capped, times a random factor in [0.5, 1).
 */
export function retryDelay(policy: RetryPolicy, attempt: number, retryAfter?: string | null): number {
  if (retryAfter) {
    const seconds = /^\d+$/.test(retryAfter.trim()) ? Number(retryAfter.trim()) * 1000 : undefined;
    const date = seconds === undefined ? Date.parse(retryAfter) - Date.now() : undefined;
    const ms = seconds ?? (Number.isFinite(date) ? Math.max(0, date!) : undefined);
    if (ms !== undefined) return Math.min(ms, policy.maxRetryAfterMs);
  }
  const backoff = Math.min(policy.baseDelayMs * 2 ** (attempt - 1), policy.maxDelayMs);
  return backoff * (0.5 + Math.random() / 2);
}

/** Wait `ms`, or until `signal` aborts ("interrupted"). */
export function sleep(ms: number, signal: AbortSignal | undefined, action: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const interrupted = () => new Oci2LxcError("interrupted", `Cannot ${action}: interrupted`);
    if (signal?.aborted) return reject(interrupted());
    const onAbort = () => {
      clearTimeout(timer);
      reject(interrupted());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** The reason a request timed out before its answer came. */
export class ConnectTimeoutError extends Error {
  constructor(ms: number) {
    super(`no answer within ${ms / 1000} s`);
    this.name = "ConnectTimeoutError";
  }
}

/** The reason a body transfer stopped: nothing came for the stall timeout. */
export class StallTimeoutError extends Error {
  constructor(ms: number) {
    super(`the transfer stalled: no data for ${ms / 1000} s`);
    this.name = "StallTimeoutError";
  }
}

/** How many attempts a failed answer took, for its error message. */
const ATTEMPTS = new WeakMap<Response, number>();

/** "; tried 5 times" for an answer that was retried, "" otherwise. */
export function attemptsNote(response: Response): string {
  const n = ATTEMPTS.get(response);
  return n && n > 1 ? `; tried ${n} times` : "";
}

/**
 * Send a request with retries. `send` makes one attempt with the signal it is given (the caller's, plus the connect
 * timeout); `failed` turns a connection error into the error to throw; `retryable` says whether it is worth another
 * try. The last answer is returned whatever its status (the caller words the error; {@linkcode attemptsNote} tells
 * how many tries it took); the body of a successful one stalls out after `stallTimeoutMs`.
 */
export async function sendWithRetry(
  send: (signal: AbortSignal) => Promise<Response>,
  options: {
    policy: RetryPolicy;
    action: string;
    signal?: AbortSignal | undefined;
    failed: (err: unknown) => Oci2LxcError;
    retryable: (err: Oci2LxcError) => boolean;
  },
): Promise<Response> {
  const { policy, action, signal } = options;
  for (let attempt = 1;; attempt++) {
    const timeout = new AbortController();
    const timer = setTimeout(
      () => timeout.abort(new ConnectTimeoutError(policy.connectTimeoutMs)),
      policy.connectTimeoutMs,
    );
    let response: Response;
    try {
      response = await send(signal ? AbortSignal.any([signal, timeout.signal]) : timeout.signal);
    } catch (err) {
      const error = options.failed(timeout.signal.aborted && !signal?.aborted ? timeout.signal.reason : err);
      if (error.code === "interrupted" || attempt >= policy.attempts || !options.retryable(error)) {
        if (attempt <= 1 || error.code === "interrupted") throw error;
        throw new Oci2LxcError(error.code, `${error.message}; tried ${attempt} times`, {
          cause: error.cause,
          ...(error.hint ? { hint: error.hint } : {}),
        });
      }
      const delayMs = retryDelay(policy, attempt);
      policy.onRetry?.({
        action,
        reason: (err as Error)?.message ?? String(err),
        attempt: attempt + 1,
        attempts: policy.attempts,
        delayMs,
      });
      await sleep(delayMs, signal, action);
      continue;
    } finally {
      clearTimeout(timer);
    }
    if (!retryableStatus(response.status) || attempt >= policy.attempts) {
      ATTEMPTS.set(response, attempt);
      if (!response.ok || !response.body) return response;
      const guarded = new Response(stallGuard(response.body, policy.stallTimeoutMs), {
        status: response.status,
        statusText: response.statusText,
        headers: response.headers,
      });
      ATTEMPTS.set(guarded, attempt);
      return guarded;
    }
    await response.body?.cancel();
    const retryAfter = response.headers.get("retry-after");
    const delayMs = retryDelay(policy, attempt, retryAfter);
    const status = `${response.status}${response.statusText ? ` ${response.statusText}` : ""}`;
    policy.onRetry?.({
      action,
      reason: retryAfter ? `${status} (Retry-After ${retryAfter})` : status,
      attempt: attempt + 1,
      attempts: policy.attempts,
      delayMs,
    });
    await sleep(delayMs, signal, action);
  }
}

/** Pass a body through; error it with a {@linkcode StallTimeoutError} (and stop the transfer) when it stalls. */
export function stallGuard(body: ReadableStream<Uint8Array>, ms: number): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const stalled = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new StallTimeoutError(ms)), ms);
      });
      try {
        const { done, value } = await Promise.race([reader.read(), stalled]);
        if (done) controller.close();
        else controller.enqueue(value);
      } catch (err) {
        reader.cancel(err).catch(() => {});
        throw err;
      } finally {
        clearTimeout(timer);
      }
    },
    cancel: (reason) => reader.cancel(reason),
  }, { highWaterMark: 0 });
}
