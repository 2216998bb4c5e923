/**
 * Mirrors, the way a fleet shares one pull-through cache (a registry with `proxy.remoteurl`): where a pull goes
 * first, and what happens when a mirror fails. Endpoints, in order: every `--registry-mirror HOST[:PORT]` (for the
 * image's registry, whichever it is: the flag is given per run by whoever knows what it pulls), then the
 * `[[registry.mirror]]` entries of the longest matching `[[registry]]` in registries.conf (honouring
 * `pull-from-mirror` and `mirror-by-digest-only`), then the registry itself (at its `location` when the entry
 * rewrites it). A mirror that fails (unreachable, refusing, lacking the image, serving wrong bytes) is skipped for the
 * rest of the run, with a warning that says so, and the next endpoint serves the request.
 *
 * @module
 */
import { Oci2LxcError } from "../errors.ts";
import { readRegistriesConf, REGISTRIES_CONF, type RegistryEntry } from "./registries_conf.ts";
import {
  type GetBlobOptions,
  type RegistryBlob,
  RegistryClient,
  type RegistryClientOptions,
  type RegistryManifest,
} from "./registry_client.ts";

/** One place a pull can go. */
export interface PullEndpoint {
  /** `host[:port]`. */
  readonly host: string;
  /** The repository there (a mirror with a path in its location prefixes it). */
  readonly repository: string;
  /** registries.conf's `insecure`: plain http and unverified TLS allowed for this endpoint. */
  readonly insecure: boolean;
  readonly mirror: boolean;
}

/** Options for {@linkcode pullEndpoints}. */
export interface MirrorOptions {
  /** `--registry-mirror HOST[:PORT]`, in order. */
  registryMirrors?: readonly string[] | undefined;
  /** The registries.conf to read (default /etc/containers/registries.conf); entries given directly win. */
  registriesConf?: string | undefined;
  entries?: readonly RegistryEntry[] | undefined;
}

/** Whether `prefix` (`host[/path]` or `*.domain`) matches `name` (`host/repository`); its length when it does. */
function prefixMatch(prefix: string, name: string): number {
  if (prefix.startsWith("*.")) {
    const host = name.split("/")[0]!;
    return host.endsWith(prefix.slice(1)) ? prefix.length : -1;
  }
  return name === prefix || name.startsWith(`${prefix}/`) ? prefix.length : -1;
}

/** `host[:port][/path]` + repository → endpoint. */
function endpointAt(location: string, rest: string, insecure: boolean, mirror: boolean): PullEndpoint {
  const slash = location.indexOf("/");
  const host = slash < 0 ? location : location.slice(0, slash);
  const path = slash < 0 ? "" : location.slice(slash + 1).replace(/\/+$/, "");
  return { host, repository: [path, rest].filter((p) => p !== "").join("/"), insecure, mirror };
}

/**
 * Where a pull of `registry/repository` goes, mirrors first.
 *
 * @param byDigest whether the image reference names a digest (for `pull-from-mirror` and `mirror-by-digest-only`)
 * @throws {Oci2LxcError} code "registry" when registries.conf blocks the registry; code "usage" for a bad file
 */
export function pullEndpoints(
  registry: string,
  repository: string,
  byDigest: boolean,
  options: MirrorOptions = {},
): PullEndpoint[] {
  const name = `${registry}/${repository}`;
  const path = options.registriesConf ?? REGISTRIES_CONF;
  const entries = options.entries ?? readRegistriesConf(path);
  let best: RegistryEntry | undefined;
  let bestLength = -1;
  for (const entry of entries) {
    const length = prefixMatch(entry.prefix, name);
    if (length > bestLength) [best, bestLength] = [entry, length];
  }
  if (best?.blocked) {
    throw new Oci2LxcError("registry", `Cannot pull ${name}: ${path} blocks ${best.prefix} (blocked = true)`, {
      hint: `Pull from another registry, or ask whoever manages ${path}`,
    });
  }
  const rest = best && !best.prefix.startsWith("*.") ? name.slice(best.prefix.length).replace(/^\//, "") : name;
  const source = best?.location && !best.prefix.startsWith("*.")
    ? endpointAt(best.location, rest, best.insecure, false)
    : { host: registry, repository, insecure: best?.insecure ?? false, mirror: false };
  const out: PullEndpoint[] = (options.registryMirrors ?? []).map((m) => endpointAt(m, repository, false, true));
  for (const m of best?.mirrors ?? []) {
    if (best?.mirrorByDigestOnly && !byDigest) continue;
    if (m.pullFromMirror === "digest-only" && !byDigest) continue;
    if (m.pullFromMirror === "tag-only" && byDigest) continue;
    out.push(endpointAt(m.location, best!.prefix.startsWith("*.") ? name : rest, m.insecure, true));
  }
  out.push(source);
  return out;
}

/**
 * The pull side of a registry and its mirrors: the same calls as {@linkcode RegistryClient}, each tried on the
 * mirrors first and then the registry.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { pullEndpoints } from "./mirrors.ts";
 * // Mirrors first, the registry itself last (no registries.conf entries here).
 * const endpoints = pullEndpoints("docker.io", "library/debian", false, { registryMirrors: ["m:5000"], entries: [] });
 * assert.deepEqual(endpoints.map((e) => [e.host, e.mirror]), [["m:5000", true], ["docker.io", false]]);
 * ```
 */
export class MirroredRegistry implements Disposable {
  readonly #endpoints: { endpoint: PullEndpoint; client: RegistryClient; failed: boolean }[];
  readonly #warn: (message: string) => void;

  constructor(
    endpoints: readonly PullEndpoint[],
    options: RegistryClientOptions,
    warn: (message: string) => void,
  ) {
    this.#warn = warn;
    this.#endpoints = endpoints.map((endpoint) => ({
      endpoint,
      failed: false,
      client: new RegistryClient(endpoint.host, {
        ...options,
        ...(endpoint.insecure ? { tlsVerify: false } : {}),
        // A mirror is tried briefly: the registry behind it is the fallback.
        ...(endpoint.mirror
          ? { retry: { ...options.retry, attempts: Math.min(options.retry?.attempts ?? 2, 2) } }
          : {}),
      }),
    }));
  }

  /** The endpoints not given up on, in order. */
  get endpoints(): PullEndpoint[] {
    return this.#endpoints.filter((e) => !e.failed).map((e) => e.endpoint);
  }

  getManifest(reference: string, accept: readonly string[]): Promise<RegistryManifest> {
    return this.#each((c, repository) => c.getManifest(repository, reference, accept));
  }

  headManifest(
    reference: string,
    accept: readonly string[],
  ): Promise<{ digest: string; mediaType: string } | undefined> {
    return this.#each((c, repository) => c.headManifest(repository, reference, accept));
  }

  getBlob(digest: string, options: GetBlobOptions = {}): Promise<RegistryBlob> {
    return this.#each((c, repository) => c.getBlob(repository, digest, options));
  }

  headBlob(digest: string): Promise<{ size: number | undefined } | undefined> {
    return this.#each((c, repository) => c.headBlob(repository, digest));
  }

  async #each<T>(call: (client: RegistryClient, repository: string) => Promise<T>): Promise<T> {
    const live = this.#endpoints.filter((e) => !e.failed);
    for (const [n, entry] of live.entries()) {
      try {
        return await call(entry.client, entry.endpoint.repository);
      } catch (err) {
        const next = live[n + 1];
        if (!next || !(err instanceof Oci2LxcError) || err.code === "interrupted") throw err;
        entry.failed = true;
        this.#warn(
          `mirror ${entry.endpoint.host} failed, pulling from ${next.endpoint.host}${
            next.endpoint.mirror ? " (a mirror)" : ""
          } instead: ${err.message}`,
        );
      }
    }
    throw new Error("unreachable: the registry itself is always the last endpoint");
  }

  close(): void {
    for (const e of this.#endpoints) e.client.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
