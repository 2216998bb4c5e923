/**
 * The plugin API: plain objects with a name and optional hooks, each hook of
 * one declared kind. The engine validates plugins (unknown keys are refused,
 * so a misspelt hook is caught), orders them (`pre`, normal, `post`), skips
 * those whose `apply` says no, and wraps every hook error with the plugin's
 * and the hook's name.
 *
 * Hook kinds, as in Rollup: `first` (the first defined answer wins),
 * `sequential` (awaited one after another, each sees the previous one's
 * changes), `parallel` (observers, awaited together). {@linkcode HOOKS} is
 * the one table of hooks: their kind and the stage they run in; the
 * plugin's type, validation and the runner's methods are derived from it.
 *
 * @module
 */
import { Oci2LxcError } from "./errors.ts";
import type { StageName } from "./pipeline/stage_names.ts";

/** How a hook's plugins are run. */
export type HookKind = "first" | "sequential" | "parallel";

/** The hooks: their kind and the stage that runs them, in the order the stages call them. */
export const HOOKS = {
  /** Name the distribution of the assembled rootfs. */
  detectDistro: { kind: "first", stage: "plan" },
  /** Amend the plan (networking, mounts, env) before anything is written. */
  plan: { kind: "sequential", stage: "plan" },
  /** Change the staged rootfs through the confined API, and put files beside it. */
  rootfs: { kind: "sequential", stage: "setup" },
  /** Add lines to the output format's config (the LXC config, or raw `lxc.*` lines of a Proxmox VE conf). */
  config: { kind: "sequential", stage: "configure" },
  /** Observe the finished conversion report. */
  report: { kind: "parallel", stage: "report" },
} as const satisfies Record<string, { kind: HookKind; stage: StageName }>;

/** The hook names. */
export type HookName = keyof typeof HOOKS;

/** The hooks of one kind. */
export type HookOfKind<K extends HookKind> = { [H in HookName]: (typeof HOOKS)[H]["kind"] extends K ? H : never }[
  HookName
];

/** Each hook's kind, from {@linkcode HOOKS} (for listings such as `oci2lxc plugins`). */
export const HOOK_KINDS: { readonly [H in HookName]: (typeof HOOKS)[H]["kind"] } = Object.fromEntries(
  Object.entries(HOOKS).map(([hook, { kind }]) => [hook, kind]),
) as { readonly [H in HookName]: (typeof HOOKS)[H]["kind"] };

const HOOK_NAMES = Object.keys(HOOKS) as HookName[];

/** What a hook of each kind returns: an answer for `first`, nothing otherwise. */
type HookResult<K extends HookKind> = K extends "first" ? unknown : void;

/** Where a plugin sits among the others. */
export type PluginOrder = "pre" | "post";

/** A plugin's hooks, one optional function per entry of {@linkcode HOOKS}. */
export type PluginHooks<Context> = { [H in HookName]?: PluginHook<Context, H> };

/** A plugin: a name, optional `order` and `apply`, and hooks. */
export interface Plugin<Context = unknown> extends PluginHooks<Context> {
  /** Unique, kebab-case: "debian-network". */
  name: string;
  /** `pre` plugins run before normal ones, `post` after; normal keep registration order. */
  order?: PluginOrder;
  /** Whether the plugin takes part in this conversion (e.g. only for Debian rootfs). */
  apply?: (context: Context) => boolean;
  /** Described option values, shown by `oci2lxc plugins`. */
  options?: Record<string, unknown>;
}

/** A hook function as its kind wants it. */
export type PluginHook<Context, H extends HookName> = (
  context: Context,
) => HookResult<(typeof HOOKS)[H]["kind"]> | Promise<HookResult<(typeof HOOKS)[H]["kind"]>>;

const ALLOWED_KEYS = new Set(["name", "order", "apply", "options", ...HOOK_NAMES]);

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
        { hint: `Hooks are ${HOOK_NAMES.join(", ")}; other keys: name, order, apply, options` },
      );
    }
  }
  if (plugin.order !== undefined && plugin.order !== "pre" && plugin.order !== "post") {
    throw new Oci2LxcError("plugin", `Cannot use plugin "${plugin.name}": order must be "pre" or "post"`);
  }
  for (const hook of [...HOOK_NAMES, "apply"]) {
    const value = (plugin as unknown as Record<string, unknown>)[hook];
    if (value !== undefined && typeof value !== "function") {
      throw new Oci2LxcError("plugin", `Cannot use plugin "${plugin.name}": ${hook} must be a function`);
    }
  }
}

/** Runs hooks over an ordered, validated plugin list. */
export class PluginRunner<C> {
  readonly plugins: readonly Plugin<C>[];
  /** The `first` and `sequential` hooks each plugin ran, in the order it first took part (for the report). */
  readonly ran: Map<string, HookName[]> = new Map();

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
  async first<T>(hook: HookOfKind<"first">, context: C): Promise<{ plugin: string; value: T } | undefined> {
    for (const p of this.active(context, hook)) {
      const fn = p[hook]!;
      try {
        const value = await fn(context);
        if (value !== undefined && value !== null) {
          this.#record(p.name, hook);
          return { plugin: p.name, value: value as T };
        }
      } catch (cause) {
        throw wrap(p, hook, cause);
      }
    }
    return undefined;
  }

  /** Run a `sequential` hook over every active plugin, in order. */
  async sequential(hook: HookOfKind<"sequential">, context: C): Promise<string[]> {
    const ran: string[] = [];
    for (const p of this.active(context, hook)) {
      const fn = p[hook]!;
      try {
        await fn(context);
      } catch (cause) {
        throw wrap(p, hook, cause);
      }
      ran.push(p.name);
      this.#record(p.name, hook);
    }
    return ran;
  }

  /** Run a `parallel` hook: every active plugin at once; the first failure is reported. */
  async parallel(hook: HookOfKind<"parallel">, context: C): Promise<void> {
    const active = this.active(context, hook);
    const results = await Promise.allSettled(active.map((p) => Promise.resolve().then(() => p[hook]!(context))));
    results.forEach((r, i) => {
      if (r.status === "rejected") throw wrap(active[i]!, hook, r.reason);
    });
  }

  #record(plugin: string, hook: HookName): void {
    this.ran.set(plugin, [...(this.ran.get(plugin) ?? []), hook]);
  }
}

function wrap(plugin: Plugin<unknown> | Plugin<never>, hook: string, cause: unknown): Oci2LxcError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new Oci2LxcError("plugin", `Cannot run plugin "${plugin.name}" (${hook} hook): ${reason}`, {
    cause,
    ...(cause instanceof Oci2LxcError && cause.hint ? { hint: cause.hint } : {}),
  });
}
