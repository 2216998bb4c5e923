/**
 * Errors of registry requests, worded so the user sees which registry, repository and step failed, and what to do:
 * connection failures by kind (unknown host, refused, TLS), and HTTP answers with distribution's JSON error body
 * (`{"errors":[{"code":"MANIFEST_UNKNOWN","message":…}]}`).
 *
 * @module
 */
import { describeError, Oci2LxcError, quoteForMessage } from "../errors.ts";

/** The first error of a distribution error body, if the body is one. */
export interface RegistryErrorBody {
  readonly code: string;
  readonly message: string;
}

/** The longest error body read: distribution's are a few hundred bytes; anything longer is not one. */
const ERROR_BODY_MAX = 64 * 1024;

/** Read a response's body as a distribution error, reading at most 64 KiB; undefined when it is not one. */
export async function readErrorBody(response: Response): Promise<RegistryErrorBody | undefined> {
  if (!response.body) return undefined;
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size <= ERROR_BODY_MAX) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.length;
    }
  } catch {
    return undefined;
  } finally {
    reader.cancel().catch(() => {});
  }
  try {
    const all = new Uint8Array(size);
    let at = 0;
    for (const chunk of chunks) {
      all.set(chunk, at);
      at += chunk.length;
    }
    const text = new TextDecoder().decode(all);
    const first = (JSON.parse(text) as { errors?: { code?: unknown; message?: unknown }[] }).errors?.[0];
    if (typeof first?.code !== "string") return undefined;
    return { code: first.code, message: typeof first.message === "string" ? first.message : "" };
  } catch {
    return undefined;
  }
}

/** `404 MANIFEST_UNKNOWN: manifest unknown`, or `404 Not Found` without a body. */
export function describeStatus(response: Response, body: RegistryErrorBody | undefined): string {
  const status = `${response.status}${response.statusText ? ` ${response.statusText}` : ""}`;
  return body
    ? `${response.status} ${body.code}${body.message ? `: ${quoteForMessage(body.message, 200)}` : ""}`
    : status;
}

/**
 * The error for a request that got no answer: the host is unknown, the connection was refused, TLS failed, or
 * another network failure. `action` is the step: `connect to registry 127.0.0.1:5000`.
 */
export function connectionError(err: unknown, action: string, host: string, signal?: AbortSignal): Oci2LxcError {
  if (signal?.aborted) return new Oci2LxcError("interrupted", `Cannot ${action}: interrupted`);
  const detail = [describeError(err), err instanceof Error && err.cause ? describeError(err.cause) : ""]
    .filter((s) => s !== "" && s !== "fetch failed").join(": ");
  const code = (err as { code?: unknown } | undefined)?.code;
  if (
    /dns error|failed to lookup address|Name or service not known|No address associated|EAI_|ENOTFOUND/i.test(detail) ||
    code === "ENOTFOUND"
  ) {
    return new Oci2LxcError("registry", `Cannot ${action}: the host ${host} is unknown (${detail})`, {
      cause: err,
      hint: "Check the registry's name in the image reference, and that this machine can resolve it",
    });
  }
  if (/Connection refused|ECONNREFUSED/i.test(detail) || code === "ECONNREFUSED") {
    return new Oci2LxcError("registry", `Cannot ${action}: the connection to ${host} was refused`, {
      cause: err,
      hint: "Check the port in the image reference, and that the registry is running",
    });
  }
  if (
    /certificate|tls|ssl|handshake|UnknownIssuer|corrupt message|InvalidContentType|CERT_|self.signed/i.test(detail)
  ) {
    return new Oci2LxcError("registry", `Cannot ${action}: TLS failed (${detail})`, {
      cause: err,
      hint:
        `Give the registry's CA certificate as a *.crt in --cert-dir DIR (or in /etc/containers/certs.d/${host}/); ` +
        "only for a registry you trust on a network you trust: --tls-verify=false (also allows plain http)",
    });
  }
  // Under TLS 1.3 a server that wants a client certificate may refuse it after the client thinks the handshake is done:
  // whether the client reads the alert ("TLS failed") or only sees the socket close depends on timing.
  // Or, writing when the close arrives, a broken pipe.
  if (/connection closed|connection reset|ECONNRESET|unexpected eof|UnexpectedEof|broken pipe|EPIPE/i.test(detail)) {
    return new Oci2LxcError("registry", `Cannot ${action}: the registry closed the connection (${detail})`, {
      cause: err,
      hint: "If the registry asks for a client certificate, put NAME.cert and NAME.key in --cert-dir DIR (or in " +
        `/etc/containers/certs.d/${host}/); else check the network and the registry, then run again`,
    });
  }
  return new Oci2LxcError("registry", `Cannot ${action}: ${detail || "the connection failed"}`, {
    cause: err,
    hint: "Check the network and the registry, then run again",
  });
}

/**
 * The error for an HTTP answer that is not what the step needs. 401 and 403 say which credentials were tried
 * (`credentialsNote`, never a value), 429 says how long the registry asks to wait.
 */
export function statusError(
  response: Response,
  body: RegistryErrorBody | undefined,
  action: string,
  credentialsNote: string,
): Oci2LxcError {
  const status = describeStatus(response, body);
  if (response.status === 401) {
    return new Oci2LxcError(
      "registry",
      `Cannot ${action}: the registry wants other credentials (${status}); ${credentialsNote}`,
      {
        hint: "Give credentials with --creds USER (and --password-stdin), --authfile FILE, or log in with podman login",
      },
    );
  }
  if (response.status === 403) {
    return new Oci2LxcError("registry", `Cannot ${action}: access denied (${status}); ${credentialsNote}`, {
      hint: "Check that these credentials may pull this repository",
    });
  }
  if (response.status === 429) {
    const retry = response.headers.get("retry-after");
    const wait = retry ? `; it asks to wait ${/^\d+$/.test(retry) ? `${retry} seconds` : `until ${retry}`}` : "";
    return new Oci2LxcError("registry", `Cannot ${action}: too many requests (${status})${wait}`, {
      hint: "Wait and run again; logging in (--creds, --authfile) raises the limits of registries such as Docker Hub",
    });
  }
  return new Oci2LxcError("registry", `Cannot ${action}: the registry answered ${status}`, {
    hint: response.status >= 500 ? "The registry has a problem; try again later" : "Check the image reference",
  });
}
