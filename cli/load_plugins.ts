/**
 * `--plugin FILE`: load an extra plugin module under `deno run`. The compiled
 * binary refuses it (code in a binary must be built in; see README's
 * "Custom binary"), so no plugin is ever loaded by a dynamic path there.
 *
 * @module
 */
import { isAbsolute, resolve } from "node:path";
import { toFileUrl } from "./file_url.ts";
import type { ConversionContext } from "../core/conversion.ts";
import { Oci2LxcError } from "../core/errors.ts";
import { type Plugin, validatePlugin } from "../core/plugin.ts";

/** Whether this process is a `deno compile` binary. */
export function isCompiled(): boolean {
  return Deno.mainModule.includes("/deno-compile-") || !Deno.mainModule.startsWith("file:");
}

/**
 * Import each file and take its default export: a plugin, or a factory
 * called with no options.
 */
export async function loadPlugins(files: readonly string[]): Promise<Plugin<ConversionContext>[]> {
  if (files.length === 0) return [];
  if (isCompiled()) {
    throw new Oci2LxcError("usage", "Cannot load --plugin in the compiled binary: plugins are built in", {
      hint: "Run with deno run -A main.ts, or build your own binary (README: Custom binary)",
    });
  }
  const out: Plugin<ConversionContext>[] = [];
  for (const file of files) {
    const url = toFileUrl(isAbsolute(file) ? file : resolve(file));
    let mod: { default?: unknown };
    try {
      mod = await import(url);
    } catch (cause) {
      throw new Oci2LxcError("plugin", `Cannot load plugin ${file}: ${importFailure(cause)}`, {
        cause,
        hint: "Give --plugin a .ts or .js module whose default export is a plugin or a factory; --debug shows more",
      });
    }
    const value = typeof mod.default === "function" ? (mod.default as () => unknown)() : mod.default;
    if (value === undefined) {
      throw new Oci2LxcError("plugin", `Cannot load plugin ${file}: it has no default export`, {
        hint: "Make the module's default export a plugin object or a factory function",
      });
    }
    try {
      validatePlugin(value as Plugin<unknown>);
    } catch (cause) {
      // "Cannot use plugin: it is not an object" does not say which --plugin, when there are several.
      const message = cause instanceof Oci2LxcError ? cause.message.replace(/^Cannot use plugin( "[^"]*")?: /, "") : "";
      if (!(cause instanceof Oci2LxcError) || message === cause.message) throw cause;
      throw new Oci2LxcError("plugin", `Cannot load plugin ${file}: ${message}`, {
        cause,
        hint: cause.hint ??
          "--plugin takes a .ts or .js module whose default export is a plugin or a factory; --debug shows more",
      });
    }
    out.push(value as Plugin<ConversionContext>);
  }
  return out;
}

/**
 * Why an import failed, in one line. Deno's syntax errors carry a code frame (the offending source line, a marker
 * line and `at file:…:LINE:COL`): keep the first line and the position, not a copy of the file's text.
 */
export function importFailure(cause: unknown): string {
  const message = cause instanceof Error ? cause.message : String(cause);
  const [first = "", ...rest] = message.split("\n");
  const at = rest.map((line) => /^\s*at (\S+):(\d+):(\d+)\s*$/.exec(line)).find((m) => m !== null);
  const reason = first.replace(/\.$/, "");
  return at ? `${reason} at line ${at[2]}, column ${at[3]} (not a JavaScript or TypeScript module?)` : reason;
}
