/**
 * Where the blob cache lives, and the pull policy, as the command line gives them: `/var/cache/oci2lxc` for root,
 * `$XDG_CACHE_HOME/oci2lxc` (else `~/.cache/oci2lxc`) for anyone else; `--cache-dir DIR` replaces it, `--no-cache`
 * turns it off; `--pull=always|missing|never` as podman spells it.
 *
 * @module
 */
import { Oci2LxcError, quoteForMessage } from "../errors.ts";
import { geteuid } from "../native/libc.ts";

/**
 * When blobs are downloaded, as podman's `--pull` words it. The reference (a tag) is resolved at the registry under
 * `always` and `missing`, so a moved tag is always noticed; blobs and manifests are content-addressed, so a cached copy
 * of a digest is that digest.
 * - `missing` (default): download only what the cache lacks.
 * - `always`: download every manifest and blob again, replacing the cached copies (to refresh or repair the cache).
 * - `never`: contact no registry: the reference resolves to the digest last seen for it, and everything must be cached.
 */
export type PullPolicy = "always" | "missing" | "never";

/** The policies, for usage errors and completion. */
export const PULL_POLICIES: readonly PullPolicy[] = ["always", "missing", "never"];

/**
 * `--pull=POLICY`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parsePullPolicy } from "./cache_dir.ts";
 * assert(parsePullPolicy("never") === "never");
 * ```
 */
export function parsePullPolicy(text: string): PullPolicy {
  if ((PULL_POLICIES as readonly string[]).includes(text)) return text as PullPolicy;
  throw new Oci2LxcError("usage", `Cannot use --pull ${quoteForMessage(text)}: give always, missing or never`, {
    hint:
      "Choose one: --pull=missing (the default) downloads what the cache lacks, always downloads again, never only reads it",
  });
}

/** What decides the default directory (the process's own values unless a test gives others). */
export interface CacheDirEnvironment {
  uid: number;
  env: (name: string) => string | undefined;
}

/**
 * The cache directory when `--cache-dir` is not given.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defaultCacheDir } from "./cache_dir.ts";
 * const env = (name: string) => ({ HOME: "/home/a" } as Record<string, string>)[name];
 * assert(defaultCacheDir({ uid: 0, env }) === "/var/cache/oci2lxc");
 * assert(defaultCacheDir({ uid: 1000, env }) === "/home/a/.cache/oci2lxc");
 * ```
 */
export function defaultCacheDir(
  // geteuid through libc, not Deno.uid(): that one needs --allow-sys, which the bundle is not run with.
  environment: CacheDirEnvironment = { uid: geteuid(), env: (name) => Deno.env.get(name) },
): string {
  if (environment.uid === 0) return "/var/cache/oci2lxc";
  const xdg = environment.env("XDG_CACHE_HOME");
  // The XDG spec: a relative XDG_CACHE_HOME is invalid and ignored.
  if (xdg?.startsWith("/")) return `${xdg.replace(/\/+$/, "")}/oci2lxc`;
  const home = environment.env("HOME");
  if (!home) {
    throw new Oci2LxcError("usage", "Cannot find a cache directory: neither XDG_CACHE_HOME nor HOME is set", {
      hint: "Give --cache-dir DIR, or --no-cache",
    });
  }
  return `${home.replace(/\/+$/, "")}/.cache/oci2lxc`;
}
