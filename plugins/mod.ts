/**
 * The built-in plugins, imported statically: the compiled binary cannot load plugins from paths next to it, so
 * everything it ships is listed here. A drift test checks that every plugin file in plugins/ is registered.
 *
 * @module
 */
import type { ConversionContext } from "../core/conversion.ts";
import type { Plugin } from "../core/plugin.ts";
import { debianNetwork } from "./distro_debian.ts";
import { distroDetect } from "./distro_detect.ts";
import { systemdNetwork } from "./distro_systemd.ts";
import { hostsFiles } from "./hosts_files.ts";
import { network } from "./network.ts";

/** Every built-in plugin factory, by the file that holds it, in the order they run. */
export const BUILTIN_FACTORIES: Readonly<Record<string, () => Plugin<ConversionContext>>> = {
  "distro_detect.ts": distroDetect,
  "network.ts": network,
  "distro_debian.ts": debianNetwork,
  "distro_systemd.ts": systemdNetwork,
  "hosts_files.ts": hostsFiles,
};

/** Files in plugins/ that are helpers, not plugins. */
export const HELPER_FILES: readonly string[] = ["mod.ts", "mount_target.ts", "network_interfaces.ts"];

/** The built-in plugins, in the order they run. */
export function builtinPlugins(): Plugin<ConversionContext>[] {
  return Object.values(BUILTIN_FACTORIES).map((make) => make());
}
