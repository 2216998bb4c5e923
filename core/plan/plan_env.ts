/**
 * Building a container's environment the way Docker does: defaults first (PATH, HOSTNAME), then the image's Env, then
 * the caller's `--env`, each replacing a variable in place or appending it; HOME (from the user's passwd entry, `/`
 * without one) last if nothing set it. TERM is not set: Docker sets it only with a tty, and an app's output is a log
 * here.
 *
 * `NAME=value` sets, `NAME=` sets an empty value, and a bare `NAME` removes the variable (Docker's daemon does the same
 * with a bare name; the host's environment is never read).
 *
 * @module
 */
import { type ErrorCode, Oci2LxcError, quoteForMessage } from "../errors.ts";
import { checkConfigValue } from "../lxc/config_value.ts";
import type { PlanField } from "./container_plan.ts";
import { fieldFate } from "./field_fate.ts";
import { isStringArray, optionalField, type RuntimeConfig } from "./runtime_config.ts";

/** Docker's default PATH for Linux containers. */
export const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** An ordered environment where each name appears once. */
class EnvList {
  #values = new Map<string, string>();
  /** Where each value came from (`Env[2] of the image config`, `--env[0]`), for messages, and its error code. */
  #sources = new Map<string, { what: string; code: ErrorCode }>();

  /** Set `name`, keeping its position when it is already there. */
  set(name: string, value: string): void {
    this.#values.set(name, value);
    this.#sources.delete(name);
  }

  /** Where the value of `name` came from, when an entry set it. */
  sourceOf(name: string): { what: string; code: ErrorCode } | undefined {
    return this.#sources.get(name);
  }

  /** Whether `name` is set. */
  has(name: string): boolean {
    return this.#values.has(name);
  }

  /** The entries in order. */
  entries(): [string, string][] {
    return [...this.#values];
  }

  /**
   * Apply `NAME=value` / `NAME` entries, named in messages by `describe(i)`, e.g. `Env[2] of the image config`. The
   * caller's entries are checked for control characters here; an image's only if they stay (see
   * {@linkcode planEnv}), so `--env` can replace or remove one LXC cannot take. Warnings go to `warn`.
   */
  apply(
    entries: readonly string[],
    describe: (index: number) => string,
    code: ErrorCode,
    warn: (text: string) => void,
  ): void {
    entries.forEach((entry, i) => {
      const what = describe(i);
      // The caller's own words that would do nothing are refused; an image's are skipped with a warning.
      if (code === "usage") {
        checkConfigValue(entry, what, code);
        checkEnvOption(entry, what);
      }
      const eq = entry.indexOf("=");
      const name = eq < 0 ? entry : entry.slice(0, eq);
      if (name === "") {
        warn(
          `ignored ${what} ${JSON.stringify(entry)}: the variable name is empty`,
        );
        return;
      }
      if (/[\s]/.test(name)) {
        throw new Oci2LxcError(
          code,
          `Cannot use ${what} ${JSON.stringify(entry)}: the variable name contains a blank`,
        );
      }
      if (eq < 0) {
        warn(
          `${what} ${JSON.stringify(name)} has no "=": it removes ${name} from the environment`,
        );
        this.#values.delete(name);
        return;
      }
      this.#values.set(name, entry.slice(eq + 1));
      this.#sources.set(name, { what, code });
    });
  }
}

/** What the environment is built from besides the image's Env. */
export interface EnvSources {
  /** The container's hostname, HOSTNAME unless the image or `--env` sets it. */
  readonly hostname: string;
  /** The user's home directory, HOME when nothing else sets it. */
  readonly home: string;
  /** The caller's `--env` entries. */
  readonly env?: readonly string[] | undefined;
}

/**
 * Build the environment from the defaults, the image's Env and the caller's `--env`.
 *
 * @throws {Oci2LxcError} `config` (or `usage` for `--env`) for an entry LXC cannot hold
 */
export function planEnv(
  rc: RuntimeConfig,
  sources: EnvSources,
  warn: (text: string) => void,
): { env: [string, string][]; field: PlanField } {
  const imageEnv = optionalField(rc, "Env", isStringArray, "an array of strings");
  const env = new EnvList();
  env.set("PATH", DEFAULT_PATH);
  env.set("HOSTNAME", sources.hostname);
  env.apply(imageEnv ?? [], (i) => `Env[${i}] of the image config`, "config", warn);
  env.apply(sources.env ?? [], (i) => `--env[${i}]`, "usage", warn);
  if (!env.has("HOME")) env.set("HOME", sources.home);
  for (const [name, value] of env.entries()) {
    const source = env.sourceOf(name);
    checkConfigValue(`${name}=${value}`, source?.what ?? `the environment variable ${name}`, source?.code);
  }
  const field = fieldFate("Env", "lxc.environment", {
    imageSet: imageEnv !== undefined && imageEnv.length > 0,
    mapped: sources.env?.length ? "merged with --env" : undefined,
    defaulted: "not set: PATH, HOSTNAME and HOME defaults",
  });
  return { env: env.entries(), field };
}

/**
 * Refuse an `--env` entry without a variable name (`""`, `=x`): it would change nothing, and a script that passes
 * `--env "$UNSET"` should hear about it. `what` names it, e.g. `--env[0]` or `--env`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkEnvOption } from "./plan_env.ts";
 * checkEnvOption("LOG_LEVEL=debug", "--env");
 * assert.throws(() => checkEnvOption("=debug", "--env[1]"), {
 *   message: 'Cannot use --env[1] "=debug": the variable name is empty',
 * });
 * ```
 */
export function checkEnvOption(entry: string, what: string): void {
  const eq = entry.indexOf("=");
  const name = eq < 0 ? entry : entry.slice(0, eq);
  if (name !== "") return;
  throw new Oci2LxcError("usage", `Cannot use ${what} ${quoteForMessage(entry)}: the variable name is empty`, {
    hint: "Write --env NAME=VALUE to set, --env NAME= to set it empty, or --env NAME to remove it",
  });
}
