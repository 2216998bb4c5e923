/**
 * Which raw `lxc.*` keys a Proxmox VE conf may carry. pve-container reads `/etc/pve/lxc/VMID.conf` with
 * `is_valid_lxc_conf_key` (`PVE/LXC/Config.pm`): a fixed list of keys, plus every `lxc.cgroup2.*`, `lxc.prlimit.*`
 * and `lxc.net.*` key; any other line is dropped with "unable to parse config" (or fails a strict parse). Used for
 * the lines plugins add with `--format pve`, so a plugin learns at once that its line would be lost.
 *
 * @module
 */
import type { PveContainerVersion, PveTarget } from "./pve_conf.ts";

/** Keys every supported Proxmox VE (7 on) accepts. */
const ALWAYS = new Set([
  "lxc.apparmor.profile",
  "lxc.apparmor.allow_incomplete",
  "lxc.apparmor.allow_nesting",
  "lxc.apparmor.raw",
  "lxc.selinux.context",
  "lxc.include",
  "lxc.arch",
  "lxc.uts.name",
  "lxc.signal.halt",
  "lxc.signal.reboot",
  "lxc.signal.stop",
  "lxc.init.cmd",
  "lxc.pty.max",
  "lxc.console.logfile",
  "lxc.console.path",
  "lxc.tty.max",
  "lxc.devtty.dir",
  "lxc.hook.autodev",
  "lxc.autodev",
  "lxc.kmsg",
  "lxc.mount.fstab",
  "lxc.mount.entry",
  "lxc.mount.auto",
  "lxc.rootfs.mount",
  "lxc.cap.drop",
  "lxc.cap.keep",
  "lxc.seccomp.profile",
  "lxc.seccomp.notify.proxy",
  "lxc.seccomp.notify.cookie",
  "lxc.idmap",
  "lxc.hook.pre-start",
  "lxc.hook.pre-mount",
  "lxc.hook.mount",
  "lxc.hook.start",
  "lxc.hook.stop",
  "lxc.hook.post-stop",
  "lxc.hook.clone",
  "lxc.hook.destroy",
  "lxc.hook.version",
  "lxc.log.level",
  "lxc.log.file",
  "lxc.start.auto",
  "lxc.start.delay",
  "lxc.start.order",
  "lxc.group",
  "lxc.environment",
  // IPC-namespaced sysctls only.
  "lxc.sysctl.fs.mqueue",
  "lxc.sysctl.kernel.msgmax",
  "lxc.sysctl.kernel.msgmnb",
  "lxc.sysctl.kernel.msgmni",
  "lxc.sysctl.kernel.sem",
  "lxc.sysctl.kernel.shmall",
  "lxc.sysctl.kernel.shmmax",
  "lxc.sysctl.kernel.shmmni",
  "lxc.sysctl.kernel.shm_rmid_forced",
]);

/** Keys added later: the pve-container release that first takes them (its git history). */
const SINCE: ReadonlyMap<string, PveContainerVersion> = new Map([
  ["lxc.init.cwd", [6, 0, 1]],
  ["lxc.init.uid", [6, 1, 0]],
  ["lxc.init.gid", [6, 1, 0]],
  ["lxc.init.groups", [6, 1, 0]],
  ["lxc.environment.runtime", [6, 0, 15]],
  ["lxc.environment.hooks", [6, 0, 15]],
]);

/** Keys Proxmox VE refuses with a reason of its own. */
const REFUSED: ReadonlyMap<string, string> = new Map([
  ["lxc.rootfs.path", "Proxmox VE generates it from the rootfs property"],
  ["lxc.rootfs.options", 'Proxmox VE takes mount options in the "rootfs" property'],
]);

/**
 * Why the Proxmox VE of `target` (`parsePveTarget`) would not take the raw key `key`, or `undefined` when it would.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parsePveTarget } from "./pve_conf.ts";
 * import { pveLxcKeyProblem } from "./pve_lxc_keys.ts";
 * assert.equal(pveLxcKeyProblem("lxc.cgroup2.memory.max", parsePveTarget("8")), undefined);
 * assert(pveLxcKeyProblem("lxc.hook.start-host", parsePveTarget("9.1")) !== undefined);
 * ```
 */
export function pveLxcKeyProblem(key: string, target: PveTarget): string | undefined {
  const refused = REFUSED.get(key);
  if (refused !== undefined) return refused;
  if (ALWAYS.has(key) || /^lxc\.(cgroup2|prlimit|net)\.[a-z0-9_.-]+$/.test(key)) return undefined;
  if (key.startsWith("lxc.cgroup.")) {
    return "pve-container warns that lxc.cgroup.* (cgroup v1) will be an error; use the lxc.cgroup2.* key";
  }
  const since = SINCE.get(key);
  if (since === undefined) {
    return "Proxmox VE keeps only the lxc.* keys pve-container knows (PVE/LXC/Config.pm) and drops the others";
  }
  if (atLeast(target.pveContainer, since)) return undefined;
  return `pve-container takes it from ${since.join(".")} on; this conf is for ${target.pveContainer.join(".")} ` +
    `(Proxmox VE ${target.version})`;
}

function atLeast(have: PveContainerVersion, want: PveContainerVersion): boolean {
  for (let i = 0; i < 3; i++) if (have[i] !== want[i]) return have[i]! > want[i]!;
  return true;
}
