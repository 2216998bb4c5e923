/**
 * The cache options of the commands that read registries (`convert`, `inspect`, `verify`, `pull`): `--cache-dir DIR`,
 * `--no-cache`, `--pull=always|missing|never`. A command spreads {@linkcode CACHE_OPTIONS} into its options and wraps
 * its registry source with `cacheOptionValues(values)`: `cache ? cachingSource(source, cache, { pull }) : source`.
 *
 * @module
 */
import { BlobCache } from "../core/cache/blob_cache.ts";
import { defaultCacheDir, parsePullPolicy, type PullPolicy } from "../core/cache/cache_dir.ts";
import { Oci2LxcError } from "../core/errors.ts";
import type { OptionSpec, ParsedArgs } from "./commands.ts";

/** The option specs, to spread into a command's `options`. */
export const CACHE_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  "cache-dir": {
    type: "string",
    value: "DIR",
    help: "Blob cache directory (default /var/cache/oci2lxc for root, else $XDG_CACHE_HOME/oci2lxc)",
  },
  "no-cache": { type: "boolean", help: "Neither read nor fill the blob cache" },
  pull: {
    type: "string",
    value: "POLICY",
    help: "missing (default): download what the cache lacks; always: download again; never: use only the cache",
  },
};

/** The cache `DIR` option alone, for `oci2lxc cache`. */
export const CACHE_DIR_OPTION: Readonly<Record<string, OptionSpec>> = { "cache-dir": CACHE_OPTIONS["cache-dir"]! };

/** What the cache options say: the cache (undefined with `--no-cache`) and the pull policy. */
export interface CacheOptionValues {
  cache: BlobCache | undefined;
  pull: PullPolicy;
}

/**
 * Check the cache options.
 *
 * @throws {Oci2LxcError} code "usage" for an unknown `--pull`, `--no-cache` with `--cache-dir`, or `--pull=never`
 *   with `--no-cache` (nothing to read from)
 */
export function cacheOptionValues(values: ParsedArgs["values"]): CacheOptionValues {
  const pull = typeof values.pull === "string" ? parsePullPolicy(values.pull) : "missing";
  const dir = typeof values["cache-dir"] === "string" ? values["cache-dir"] : undefined;
  if (values["no-cache"]) {
    if (dir !== undefined) {
      throw new Oci2LxcError(
        "usage",
        "Cannot use --no-cache with --cache-dir: one turns off what the other points at",
        {
          hint: "Give one of --no-cache and --cache-dir DIR",
        },
      );
    }
    if (pull === "never") {
      throw new Oci2LxcError(
        "usage",
        "Cannot use --pull=never with --no-cache: there is nothing to read the image from",
        {
          hint: "Drop --no-cache, or use --pull=missing",
        },
      );
    }
    return { cache: undefined, pull };
  }
  if (dir === "") {
    throw new Oci2LxcError("usage", "Cannot use --cache-dir: the directory is empty", {
      hint: "Give --cache-dir DIR, or --no-cache",
    });
  }
  return { cache: new BlobCache(dir ?? defaultCacheDir()), pull };
}
