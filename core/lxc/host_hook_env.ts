/**
 * Guarding the host's hooks from the image's environment.
 *
 * On LXC 5.0.2, `lxc.environment` is not only the container's environment: it is also set for the `pre-mount` and
 * `mount` hooks, which run as root with the host's programs (checked: a `lxc.environment = LD_PRELOAD=…` line reached
 * Debian's lxcfs mount hook, included by common.conf). At the mount hook the rootfs is mounted at LXC's rootfs mount
 * point (`/usr/lib/<triplet>/lxc/rootfs` on Debian). An image could thus point PATH, LD_PRELOAD or a bash function at
 * its own files and run code as host root. LXC 7.0.0+ (and Proxmox VE 9.1's LXC) has `lxc.environment.runtime`, which
 * reaches only the container; this check is for `lxc.environment`.
 *
 * It refuses: variables that make shells and interpreters run code without any file (bash functions,
 * SHELLOPTS/BASHOPTS, PS4, PERL5OPT/PERL5DB, IFS); and any value naming a path inside the container's rootfs on the
 * host, LXC's rootfs mount point, or a bind-mounted host directory the container can write. It is defence in depth, not
 * a proof: a hook in another language may read other variables.
 *
 * @module
 */
import { Oci2LxcError } from "../errors.ts";
import { cleanAbsolutePath } from "../plan/clean_absolute_path.ts";

/** Where files the container controls are visible to a host hook. */
export interface HostHookGuard {
  /** The rootfs directory on the host. */
  rootfsPath: string;
  /** Host directories bind-mounted into the container. */
  mountSources: readonly string[];
}

const CODE_VARIABLES = new Set([
  "SHELLOPTS",
  "BASHOPTS",
  "PS4",
  "PERL5OPT",
  "PERL5DB",
  "IFS",
]);

function under(path: string, root: string): boolean {
  return root === "/" || path === root || path.startsWith(root + "/");
}

/** Why `name=value` is unsafe for host hooks, or `undefined`. */
function hazard(
  name: string,
  value: string,
  roots: readonly string[],
): string | undefined {
  if (name.startsWith("BASH_FUNC_") || name.includes("%%")) {
    return "bash would run it as a function definition";
  }
  if (CODE_VARIABLES.has(name)) {
    return "it makes shells or interpreters run code";
  }
  for (const token of value.split(/[:;,=\s]+/)) {
    const path = cleanAbsolutePath(token);
    if (path === undefined) continue;
    if (/(^|\/)lxc\/rootfs(\/|$)/.test(path)) {
      return `it names ${token}, inside LXC's rootfs mount point`;
    }
    const root = roots.find((r) => under(path, r));
    if (root !== undefined) {
      return `it names ${token}, inside ${root}, which the container controls`;
    }
  }
  return undefined;
}

/**
 * Throw an `Oci2LxcError` ("config") for the first variable of `env` that could make a host hook run the container's
 * code.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkEnvForHostHooks } from "./host_hook_env.ts";
 * const guard = { rootfsPath: "/var/lib/lxc/web/rootfs", mountSources: [] };
 * checkEnvForHostHooks([["PATH", "/usr/local/bin:/usr/bin:/bin"]], guard);
 * let refused = false;
 * try {
 *   checkEnvForHostHooks([["LD_PRELOAD", "/usr/lib/x86_64-linux-gnu/lxc/rootfs/evil.so"]], guard);
 * } catch {
 *   refused = true;
 * }
 * assert(refused);
 * ```
 */
export function checkEnvForHostHooks(
  env: readonly (readonly [string, string])[],
  guard: HostHookGuard,
): void {
  // Cleaned as the paths in values are; a relative root (never given in practice) is read from `/`.
  const roots = [guard.rootfsPath, ...guard.mountSources].map((p) => cleanAbsolutePath(`/${p}`)!);
  for (const [name, value] of env) {
    const why = hazard(name, value, roots);
    if (why === undefined) continue;
    throw new Oci2LxcError(
      "config",
      `Cannot put the environment variable ${name} into lxc.environment: LXC also sets it for hooks that run as root on the host, and ${why}`,
      {
        hint:
          `Remove it with --env ${name}, or convert for an LXC with lxc.environment.runtime, which only the container sees (--lxc-version 7.0.0, or --format pve --pve-version 9.1)`,
      },
    );
  }
}
