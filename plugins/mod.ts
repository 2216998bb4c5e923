/**
 * The built-in plugins, imported statically: the compiled binary cannot load
 * plugins from paths next to it, so everything it ships is listed here.
 * A drift test checks that every file in plugins/ is registered.
 *
 * @module
 */
import type { ConversionContext } from "../core/conversion.ts";
import type { Plugin } from "../core/plugin.ts";

/** Every built-in plugin factory by file, for the drift test and `oci2lxc plugins`. */
export const BUILTIN_FACTORIES: Record<string, () => Plugin<ConversionContext>> = {};

/** The built-in plugins, in the order they run. */
export function builtinPlugins(): Plugin<ConversionContext>[] {
  return Object.values(BUILTIN_FACTORIES).map((make) => make());
}
