/**
 * Authentication against one registry, as the distribution spec's token flow and containers/image do it: the ping of
 * `/v2/` tells which scheme the registry wants (`WWW-Authenticate`); `Bearer` means a token fetched from the
 * challenge's realm with `GET realm?service=…&scope=repository:NAME:pull` (with Basic credentials when there are
 * any), cached per scope until it expires and fetched again when the registry answers 401; `Basic` means the
 * credentials on every request; no challenge means anonymous. Credentials are looked up only when a challenge needs
 * them.
 *
 * @module
 */
import { Oci2LxcError } from "../errors.ts";
import { type AuthChallenge, parseAuthChallenges } from "./auth_challenge.ts";
import { type CredentialLookup, type CredentialSourceOptions, findCredentials } from "./auth_sources.ts";
import type { HttpTransport } from "./http_transport.ts";
import { connectionError, describeStatus, readErrorBody } from "./registry_errors.ts";

/** Options for {@linkcode RegistryAuth}. */
export interface RegistryAuthOptions extends CredentialSourceOptions {
  /** Receives one line per token request (URL and status; never a header or a token). */
  debug?: ((line: string) => void) | undefined;
  /** Stops a token request. */
  signal?: AbortSignal | undefined;
}

/** Token lifetime when the token server does not say (the token spec's default), and the least we believe. */
const MIN_TOKEN_SECONDS = 60;

interface CachedToken {
  readonly token: string;
  /** `Date.now()` after which it is fetched again. */
  readonly expiresAt: number;
}

/** The token server's answer (distribution's token spec: `token`, or OAuth2's `access_token`). */
interface TokenAnswer {
  token?: unknown;
  access_token?: unknown;
  expires_in?: unknown;
  issued_at?: unknown;
}

/**
 * The `Authorization` header for requests to one registry.
 *
 * @example Anonymous until a challenge asks for more
 * ```ts
 * import assert from "node:assert/strict";
 * import { RegistryAuth } from "./registry_auth.ts";
 * import { createTransport } from "./http_transport.ts";
 * const transport = createTransport({ caCerts: [], clientCert: undefined, dir: undefined }, true);
 * const auth = new RegistryAuth("127.0.0.1:5000", transport, { env: {} });
 * assert.equal(await auth.authorization("busybox"), undefined);
 * transport.close();
 * ```
 */
export class RegistryAuth {
  /** The registry as the reference names it: the key for credentials. */
  readonly registry: string;
  readonly #transport: HttpTransport;
  readonly #options: RegistryAuthOptions;
  #challenges: readonly AuthChallenge[] = [];
  readonly #lookups = new Map<string, Promise<CredentialLookup>>();
  readonly #tokens = new Map<string, CachedToken>();
  /** How many tokens were fetched (for tests and `--debug`). */
  tokenRequests = 0;

  constructor(registry: string, transport: HttpTransport, options: RegistryAuthOptions = {}) {
    this.registry = registry;
    this.#transport = transport;
    this.#options = options;
  }

  /** Take the challenges of the `/v2/` ping (or of a later 401). */
  setChallenges(challenges: readonly AuthChallenge[]): void {
    this.#challenges = challenges;
  }

  /** Whether the registry asked for any authentication. */
  get challenged(): boolean {
    return this.#challenges.length > 0;
  }

  /** The credentials for `repository`, looked up once. */
  #credentials(repository: string): Promise<CredentialLookup> {
    let lookup = this.#lookups.get(repository);
    if (!lookup) {
      lookup = findCredentials(this.registry, repository, this.#options);
      this.#lookups.set(repository, lookup);
    }
    return lookup;
  }

  /**
   * The `Authorization` header value for pulling from `repository`, or undefined for an anonymous request.
   *
   * @throws {Oci2LxcError} code "registry" when a token cannot be had, or a credential source is broken
   */
  async authorization(repository: string): Promise<string | undefined> {
    const bearer = this.#challenges.find((c) => c.scheme === "bearer");
    if (bearer) return `Bearer ${await this.#token(bearer, repository)}`;
    const basic = this.#challenges.find((c) => c.scheme === "basic");
    if (basic) return (await this.#credentials(repository)).credentials?.basicAuthorization();
    return undefined;
  }

  /**
   * After a 401: forget the token of `repository`'s scope and take the answer's challenges. Returns whether asking
   * again can help (a new token, or a scheme we had not used); Basic credentials the registry refused will not.
   */
  renew(repository: string, response: Response): boolean {
    const challenges = parseAuthChallenges(response.headers.get("www-authenticate") ?? "");
    const hadBearer = this.#challenges.some((c) => c.scheme === "bearer");
    const hadAny = this.#challenges.length > 0;
    if (challenges.length > 0) this.#challenges = challenges;
    for (const key of [...this.#tokens.keys()]) {
      if (key.endsWith(`\n${scopeOf(repository)}`)) this.#tokens.delete(key);
    }
    return hadBearer || !hadAny;
  }

  /** Words for an error: which credentials were sent and where they came from, or where none were found. */
  async credentialsNote(repository: string): Promise<string> {
    if (!this.challenged) return "the registry did not ask for credentials at /v2/";
    const { credentials, tried } = await this.#credentials(repository).catch(() => ({
      credentials: undefined,
      tried: [],
    }));
    if (credentials) {
      return `tried the credentials of user ${JSON.stringify(credentials.username)} from ${credentials.source}`;
    }
    return `no credentials found (looked at --creds, ${tried.join(", ")})`;
  }

  async #token(challenge: AuthChallenge, repository: string): Promise<string> {
    const realm = challenge.params.realm;
    const scope = scopeOf(repository);
    const action = `get a token for ${this.registry}/${repository}`;
    if (!realm || !/^https?:\/\//.test(realm)) {
      throw new Oci2LxcError("registry", `Cannot ${action}: the registry's Bearer challenge has no http(s) realm`, {
        hint: "The registry is misconfigured (WWW-Authenticate on /v2/); tell its operator",
      });
    }
    const service = challenge.params.service ?? "";
    const key = `${realm}\n${service}\n${scope}`;
    const cached = this.#tokens.get(key);
    if (cached && Date.now() < cached.expiresAt) return cached.token;
    this.#tokens.delete(key);
    const { credentials } = await this.#credentials(repository);
    const url = new URL(realm);
    if (service) url.searchParams.set("service", service);
    url.searchParams.append("scope", scope);
    const extra = challenge.params.scope;
    if (extra && extra !== scope) url.searchParams.append("scope", extra);
    if (credentials?.username) url.searchParams.set("account", credentials.username);
    const headers = new Headers({ accept: "application/json" });
    if (credentials) headers.set("authorization", credentials.basicAuthorization());
    this.tokenRequests++;
    const started = Date.now();
    let response: Response;
    try {
      response = await this.#transport.send({ method: "GET", url, headers, signal: this.#options.signal });
    } catch (err) {
      throw connectionError(err, `${action} from ${url.origin}`, url.host, this.#options.signal);
    }
    this.#options.debug?.(`GET ${url.origin}${url.pathname} (token, scope ${scope}) → ${response.status}`);
    if (!response.ok) {
      const body = await readErrorBody(response);
      const who = credentials
        ? `the credentials of user ${JSON.stringify(credentials.username)} from ${credentials.source}`
        : "no credentials (none found)";
      throw new Oci2LxcError(
        "registry",
        `Cannot ${action}: the token server ${url.origin} answered ${describeStatus(response, body)} for ${who}`,
        {
          hint: response.status === 401 || response.status === 403
            ? "Check the credentials for this registry (--creds, --authfile, podman login)"
            : "The token server has a problem; try again later",
        },
      );
    }
    let answer: TokenAnswer;
    try {
      answer = await response.json() as TokenAnswer;
    } catch {
      throw new Oci2LxcError("registry", `Cannot ${action}: the token server's answer is not JSON`, {
        hint: "The registry's token server is misconfigured; tell its operator",
      });
    }
    const token = typeof answer.token === "string" && answer.token !== "" ? answer.token : answer.access_token;
    if (typeof token !== "string" || token === "") {
      throw new Oci2LxcError("registry", `Cannot ${action}: the token server's answer has no token`, {
        hint: "The registry's token server is misconfigured; tell its operator",
      });
    }
    const seconds = typeof answer.expires_in === "number" && answer.expires_in > MIN_TOKEN_SECONDS
      ? answer.expires_in
      : MIN_TOKEN_SECONDS;
    const issued = typeof answer.issued_at === "string" ? Date.parse(answer.issued_at) : NaN;
    // A token server's clock may differ from ours: count from when we asked unless issued_at is earlier.
    const from = Number.isFinite(issued) && issued < started ? issued : started;
    this.#tokens.set(key, { token, expiresAt: from + seconds * 1000 });
    return token;
  }
}

/** The pull scope of a repository, in the token spec's grammar. */
export function scopeOf(repository: string): string {
  return `repository:${repository}:pull`;
}
