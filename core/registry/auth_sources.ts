/**
 * Where a registry's credentials come from, in the order skopeo and podman look (containers/image's
 * pkg/docker/config): `--creds`, then the first auth file of `--authfile`, `REGISTRY_AUTH_FILE`,
 * `$XDG_RUNTIME_DIR/containers/auth.json` (root without it: `/run/containers/0/auth.json`), then
 * `$XDG_CONFIG_HOME/containers/auth.json` (`~/.config/…`), then `$DOCKER_CONFIG/config.json` or
 * `~/.docker/config.json`. In each file: `credHelpers` for the registry, then `auths` (exact keys first — a repository,
 * its namespaces, the registry — then keys normalised: scheme and path dropped, Docker Hub's `index.docker.io` and
 * `registry-1.docker.io` and the legacy `https://index.docker.io/v1/` all meaning `docker.io`), then `credsStore`.
 *
 * @module
 */
import { Oci2LxcError, quoteForMessage } from "../errors.ts";
import { credentialsFromHelper } from "./credential_helper.ts";
import { Credentials } from "./credentials.ts";
import { DOCKER_HUB } from "./reference.ts";

/** Options for {@linkcode findCredentials}. */
export interface CredentialSourceOptions {
  /** `--creds` (with `--password-stdin`), already parsed: used as they are, no file is read. */
  creds?: Credentials;
  /** `--authfile FILE`: must exist. */
  authfile?: string;
  /** The environment to read `REGISTRY_AUTH_FILE`, `XDG_*`, `DOCKER_CONFIG`, `HOME`, `PATH` from; default the process's. */
  env?: Readonly<Record<string, string | undefined>>;
}

/** What a lookup found, and the sources it looked at (names, never values) for an error message. */
export interface CredentialLookup {
  readonly credentials: Credentials | undefined;
  readonly tried: readonly string[];
}

/** Docker Hub's key in docker's config.json and the server URL its credential helpers know it by. */
const DOCKER_HUB_LEGACY_KEY = "https://index.docker.io/v1/";

interface AuthFile {
  auths?: Record<string, { auth?: unknown } | undefined>;
  credHelpers?: Record<string, unknown>;
  credsStore?: unknown;
}

/** The auth files to read, most important first. */
function authFiles(options: CredentialSourceOptions, env: Readonly<Record<string, string | undefined>>): string[] {
  const home = env.HOME ?? "/root";
  const files: string[] = [];
  if (options.authfile !== undefined) files.push(options.authfile);
  else if (env.REGISTRY_AUTH_FILE) files.push(env.REGISTRY_AUTH_FILE);
  else if (env.XDG_RUNTIME_DIR) files.push(`${env.XDG_RUNTIME_DIR}/containers/auth.json`);
  else if (Deno.uid() === 0) files.push("/run/containers/0/auth.json");
  files.push(`${env.XDG_CONFIG_HOME || `${home}/.config`}/containers/auth.json`);
  files.push(env.DOCKER_CONFIG ? `${env.DOCKER_CONFIG}/config.json` : `${home}/.docker/config.json`);
  return files;
}

/** An auth file key reduced to the registry it names: scheme and path dropped, Docker Hub's aliases as `docker.io`. */
export function normalizeAuthKey(key: string): string {
  const host = key.replace(/^https?:\/\//, "").split("/")[0] ?? "";
  return host === "index.docker.io" || host === "registry-1.docker.io" ? DOCKER_HUB : host;
}

/** The exact keys that match `registry/repository`, most specific first: `r/a/b`, `r/a`, `r`. */
function exactKeys(registry: string, repository: string): string[] {
  const keys: string[] = [];
  const parts = repository.split("/");
  for (let n = parts.length; n > 0; n--) keys.push(`${registry}/${parts.slice(0, n).join("/")}`);
  keys.push(registry);
  return keys;
}

function readAuthFile(path: string, explicit: boolean): AuthFile | undefined {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound && !explicit) return undefined;
    throw new Oci2LxcError("registry", `Cannot read auth file ${path}: ${err instanceof Error ? err.message : err}`, {
      hint: explicit ? "Check --authfile" : `Check the file's permissions, or remove ${path}`,
    });
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) throw new Error("not an object");
    return parsed as AuthFile;
  } catch {
    // The text holds secrets: never echo it.
    throw new Oci2LxcError("registry", `Cannot read auth file ${path}: it is not a JSON object`, {
      hint: `Fix ${path}, or log in again (podman login, docker login) to rewrite it`,
    });
  }
}

function decodeAuth(value: string, path: string, key: string): Credentials | undefined {
  if (value === "") return undefined;
  let decoded: string;
  try {
    decoded = new TextDecoder("utf-8", { fatal: true }).decode(Uint8Array.from(atob(value), (c) => c.charCodeAt(0)));
  } catch {
    decoded = "";
  }
  const colon = decoded.indexOf(":");
  if (colon < 0) {
    throw new Oci2LxcError(
      "registry",
      `Cannot read auth file ${path}: the "auth" of ${quoteForMessage(key)} is not base64 of USER:PASSWORD`,
      { hint: `Fix that entry in ${path}, or log in again to rewrite it` },
    );
  }
  return new Credentials(decoded.slice(0, colon), decoded.slice(colon + 1), `${path} (auths ${JSON.stringify(key)})`);
}

/** The credentials one file holds for `registry/repository`, if any. */
async function credentialsInFile(
  file: AuthFile,
  path: string,
  registry: string,
  repository: string,
  env: Readonly<Record<string, string | undefined>>,
): Promise<Credentials | undefined> {
  const hub = registry === DOCKER_HUB;
  const helpers = file.credHelpers ?? {};
  for (const key of hub ? [registry, DOCKER_HUB_LEGACY_KEY, "index.docker.io"] : [registry]) {
    const helper = helpers[key];
    if (typeof helper === "string" && helper !== "") {
      return await credentialsFromHelper(helper, hub ? DOCKER_HUB_LEGACY_KEY : registry, `${path} credHelpers`, env);
    }
  }
  const auths = file.auths ?? {};
  const entry = (key: string) => {
    const auth = auths[key]?.auth;
    return typeof auth === "string" && auth !== "" ? decodeAuth(auth, path, key) : undefined;
  };
  for (const key of exactKeys(registry, repository)) {
    const found = entry(key);
    if (found) return found;
  }
  for (const key of Object.keys(auths).sort()) {
    if (normalizeAuthKey(key) !== registry) continue;
    const found = entry(key);
    if (found) return found;
  }
  if (typeof file.credsStore === "string" && file.credsStore !== "") {
    return await credentialsFromHelper(
      file.credsStore,
      hub ? DOCKER_HUB_LEGACY_KEY : registry,
      `${path} credsStore`,
      env,
    );
  }
  return undefined;
}

/**
 * Find the credentials for `registry` (as named in the reference: `docker.io`, `host:port`) and `repository`.
 *
 * @returns the first credentials found, and every source looked at, for a message when the registry refuses
 * @throws {Oci2LxcError} code "registry" when `--authfile` is missing, a file is not JSON, or a helper fails
 *
 * @example --creds win over every file
 * ```ts
 * import assert from "node:assert/strict";
 * import { findCredentials } from "./auth_sources.ts";
 * import { Credentials } from "./credentials.ts";
 * const found = await findCredentials("quay.io", "a/b", { creds: new Credentials("u", "p", "--creds"), env: {} });
 * assert.equal(found.credentials?.source, "--creds");
 * ```
 */
export async function findCredentials(
  registry: string,
  repository: string,
  options: CredentialSourceOptions = {},
): Promise<CredentialLookup> {
  if (options.creds) return { credentials: options.creds, tried: ["--creds"] };
  const env = options.env ?? Deno.env.toObject();
  const tried: string[] = [];
  for (const [i, path] of authFiles(options, env).entries()) {
    tried.push(path);
    const file = readAuthFile(path, i === 0 && options.authfile !== undefined);
    if (!file) continue;
    const found = await credentialsInFile(file, path, registry, repository, env);
    if (found) return { credentials: found, tried };
  }
  return { credentials: undefined, tried };
}
