/**
 * Everything the commands that read registries (`convert`, `inspect`, `verify`) take about fetching, together:
 * credentials and TLS (registry_options.ts), the blob cache (cache_options.ts), mirrors (mirror_options.ts) and
 * `--max-parallel N`, turned into core's {@linkcode RegistryOptions} in one call so every command wires them alike.
 *
 * @module
 */
import { Oci2LxcError, quoteForMessage } from "../core/errors.ts";
import type { RegistryOptions } from "../core/open.ts";
import type { RetryEvent } from "../core/registry/retry_policy.ts";
import { CACHE_OPTIONS, cacheOptionValues } from "./cache_options.ts";
import type { OptionSpec, ParsedArgs } from "./commands.ts";
import { MIRROR_OPTIONS, mirrorOptionValues } from "./mirror_options.ts";
import { REGISTRY_OPTIONS, registryOptionValues } from "./registry_options.ts";

/** `--max-parallel N`'s spec alone (convert: the commands that download every layer). */
export const MAX_PARALLEL_OPTION: Readonly<Record<string, OptionSpec>> = {
  "max-parallel": {
    type: "string",
    value: "N",
    help: "Layers to download at once into the cache (default 4; 1 with --no-cache)",
  },
};

/** The option specs, to spread into a command's `options`. */
export const FETCH_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  ...REGISTRY_OPTIONS,
  ...CACHE_OPTIONS,
  ...MIRROR_OPTIONS,
};

/** What the command line adds that is not an option: where warnings and retries are told. */
export interface FetchHooks {
  readStdin: () => Promise<string>;
  onWarning?: ((message: string) => void) | undefined;
  onRetry?: ((event: RetryEvent) => void) | undefined;
  onDownload?: ((position: number, bytes: number) => void) | undefined;
  onLayer?: RegistryOptions["onLayer"];
}

/**
 * `--max-parallel N`: a whole number from 1 to 64.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseMaxParallel } from "./fetch_options.ts";
 * assert(parseMaxParallel("8") === 8);
 * ```
 * @throws {Oci2LxcError} code "usage" for anything else
 */
export function parseMaxParallel(text: string): number {
  const n = /^\d{1,2}$/.test(text) ? Number(text) : NaN;
  if (!(n >= 1 && n <= 64)) {
    throw new Oci2LxcError("usage", `Cannot use --max-parallel ${quoteForMessage(text)}: give a number from 1 to 64`, {
      hint: "Give a number from 1 to 64: --max-parallel 4 (the default) downloads four layers at once",
    });
  }
  return n;
}

/**
 * Check all fetch options and build the registry options of core's `open` (and `convert`, `inspect`, `verify`).
 *
 * @throws {Oci2LxcError} code "usage" for a bad value of any of them
 */
export async function fetchOptionValues(values: ParsedArgs["values"], hooks: FetchHooks): Promise<RegistryOptions> {
  const registry = await registryOptionValues(values, hooks.readStdin);
  const { cache, pull } = cacheOptionValues(values);
  const mirrors = mirrorOptionValues(values);
  const maxParallel = typeof values["max-parallel"] === "string" ? parseMaxParallel(values["max-parallel"]) : undefined;
  return {
    ...registry,
    cache,
    pull,
    mirrors,
    maxParallel,
    onWarning: hooks.onWarning,
    onDownload: hooks.onDownload,
    onLayer: hooks.onLayer,
    ...(hooks.onRetry ? { retry: { onRetry: hooks.onRetry } } : {}),
  };
}
