/**
 * The plugin API: plain objects with a name and optional hooks, each hook of
 * one declared kind. The engine validates plugins (unknown keys are refused,
 * so a misspelt hook is caught), orders them (`pre`, normal, `post`), skips
 * those whose `apply` says no, and wraps every hook error with the plugin's
 * and the hook's name.
 *
 * Hook kinds, as in Rollup: `first` (the first defined answer wins),
 * `sequential` (awaited one after another, each sees the previous one's
 * changes), `parallel` (observers, awaited together).
 *
 * @module
 */
import { Oci2LxcError } from "./errors.ts";

/** The hooks, their kinds, and the order the pipeline calls them in. */
export const HOOK_KINDS = {
  /** first: name the distribution of the assembled rootfs. */
  detectDistro: "first",
  /** sequential: amend the plan (networking, mounts, env) before anything is written. */
  plan: "sequential",
  /** sequential: change the staged rootfs through the confined API. */
  rootfs: "sequential",
  /** sequential: add or change lines of the LXC config. */
  config: "sequential",
  /** parallel: observe the finished conversion report. */
  report: "parallel",
} as const;

/** The hook names. */
export type HookName = keyof typeof HOOK_KINDS;

/** Where a plugin sits among the others. */
export type PluginOrder = "pre" | "post";

/** A plugin: a name, optional `order` and `apply`, and hooks. */
export interface Plugin<Context = unknown> {
  /** Unique, kebab-case: "debian-network". */
  name: string;
  /** `pre` plugins run before normal ones, `post` after; normal keep registration order. */
  order?: PluginOrder;
  /** Whether the plugin takes part in this conversion (e.g. only for Debian rootfs). */
  apply?: (context: Context) => boolean;
  /** Described option values, shown by `oci2lxc plugins`. */
  options?: Record<string, unknown>;
  detectDistro?: (context: Context) => unknown | Promise<unknown>;
  plan?: (context: Context) => void | Promise<void>;
  rootfs?: (context: Context) => void | Promise<void>;
  config?: (context: Context) => void | Promise<void>;
  report?: (context: Context) => void | Promise<void>;
}

const ALLOWED_KEYS = new Set(["name", "order", "apply", "options", ...Object.keys(HOOK_KINDS)]);

/**
 * Check a plugin's shape and return it, typed. Unknown keys are refused so a
 * misspelt hook name fails loudly instead of silently never running.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { definePlugin } from "./plugin.ts";
 * const hello = definePlugin({ name: "hello", report() {} });
 * assert.equal(hello.name, "hello");
 * ```
 */
export function definePlugin<C = unknown>(plugin: Plugin<C>): Plugin<C> {
  validatePlugin(plugin as Plugin<unknown>);
  return plugin;
}

/** Throw a usage error naming the problem when `plugin` is not a valid plugin. */
export function validatePlugin(plugin: Plugin<unknown>): void {
  if (plugin === null || typeof plugin !== "object") {
    throw new Oci2LxcError("plugin", "Cannot use plugin: it is not an object");
  }
  if (typeof plugin.name !== "string" || !/^[a-z0-9][a-z0-9-]*$/.test(plugin.name)) {
    throw new Oci2LxcError("plugin", `Cannot use plugin ${JSON.stringify(plugin.name)}: name must be kebab-case`);
  }
  for (const key of Object.keys(plugin)) {
    if (!ALLOWED_KEYS.has(key)) {
      throw new Oci2LxcError(
        "plugin",
        `Cannot use plugin "${plugin.name}": unknown key "${key}"`,
        { hint: `Hooks are ${Object.keys(HOOK_KINDS).join(", ")}; other keys: name, order, apply, options` },
      );
    }
  }
  if (plugin.order !== undefined && plugin.order !== "pre" && plugin.order !== "post") {
    throw new Oci2LxcError("plugin", `Cannot use plugin "${plugin.name}": order must be "pre" or "post"`);
  }
  for (const hook of [...Object.keys(HOOK_KINDS), "apply"]) {
    const value = (plugin as unknown as Record<string, unknown>)[hook];
    if (value !== undefined && typeof value !== "function") {
      throw new Oci2LxcError("plugin", `Cannot use plugin "${plugin.name}": ${hook} must be a function`);
    }
  }
}

/** Runs hooks over an ordered, validated plugin list. */
export class PluginRunner<C> {
  readonly plugins: readonly Plugin<C>[];

  constructor(plugins: readonly Plugin<C>[]) {
    const seen = new Set<string>();
    for (const p of plugins) {
      validatePlugin(p as Plugin<unknown>);
      if (seen.has(p.name)) throw new Oci2LxcError("plugin", `Cannot use plugin "${p.name}" twice`);
      seen.add(p.name);
    }
    const rank = (p: Plugin<C>) => (p.order === "pre" ? 0 : p.order === "post" ? 2 : 1);
    // Array.prototype.sort is stable: registration order holds within a rank.
    this.plugins = [...plugins].sort((a, b) => rank(a) - rank(b));
  }

  /**
   * The plugins that take part for `context`. With `hook`, only those that
   * have it are asked, so `apply` runs only where its answer matters (and
   * never before the stage whose data it reads).
   */
  active(context: C, hook?: HookName): Plugin<C>[] {
    return this.plugins.filter((p) => hook === undefined || typeof p[hook] === "function").filter((p) => {
      if (!p.apply) return true;
      try {
        return p.apply(context);
      } catch (cause) {
        throw wrap(p, "apply", cause);
      }
    });
  }

  /** Run a `first` hook: the first defined answer wins. */
  async first<T>(hook: "detectDistro", context: C): Promise<{ plugin: string; value: T } | undefined> {
    for (const p of this.active(context, hook)) {
      const fn = p[hook]!;
      try {
        const value = await fn(context);
        if (value !== undefined && value !== null) return { plugin: p.name, value: value as T };
      } catch (cause) {
        throw wrap(p, hook, cause);
      }
    }
    return undefined;
  }

  /** Run a `sequential` hook over every active plugin, in order. */
  async sequential(hook: "plan" | "rootfs" | "config", context: C): Promise<string[]> {
    const ran: string[] = [];
    for (const p of this.active(context, hook)) {
      const fn = p[hook]!;
      try {
        await fn(context);
      } catch (cause) {
        throw wrap(p, hook, cause);
      }
      ran.push(p.name);
    }
    return ran;
  }

  /** Run a `parallel` hook: every active plugin at once; the first failure is reported. */
  async parallel(hook: "report", context: C): Promise<void> {
    const active = this.active(context, hook);
    const results = await Promise.allSettled(active.map((p) => Promise.resolve().then(() => p[hook]!(context))));
    results.forEach((r, i) => {
      if (r.status === "rejected") throw wrap(active[i]!, hook, r.reason);
    });
  }
}

function wrap(plugin: Plugin<unknown> | Plugin<never>, hook: string, cause: unknown): Oci2LxcError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new Oci2LxcError("plugin", `Cannot run plugin "${plugin.name}" (${hook} hook): ${reason}`, {
    cause,
    ...(cause instanceof Oci2LxcError && cause.hint ? { hint: cause.hint } : {}),
  });
}
