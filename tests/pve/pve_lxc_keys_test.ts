import assert from "node:assert/strict";
import { parsePveTarget } from "../../core/pve/pve_conf.ts";
import { pveLxcKeyProblem } from "../../core/pve/pve_lxc_keys.ts";

Deno.test("pveLxcKeyProblem() takes pve-container's fixed keys and its cgroup2, prlimit and net families", () => {
  const keys = ["lxc.mount.entry", "lxc.cap.drop", "lxc.cgroup2.memory.max", "lxc.prlimit.nofile", "lxc.net.0.flags"];
  for (const key of keys) assert.deepEqual(pveLxcKeyProblem(key, parsePveTarget("7")), undefined, key);
});

Deno.test("pveLxcKeyProblem() refuses keys Proxmox VE drops, and says why for the rootfs and cgroup v1 ones", () => {
  assert(pveLxcKeyProblem("lxc.hook.start-host", parsePveTarget("9.1"))?.includes("drops the others"));
  assert(pveLxcKeyProblem("lxc.cgroup.devices.allow", parsePveTarget("8"))?.includes("use the lxc.cgroup2.* key"));
  assert.deepEqual(
    pveLxcKeyProblem("lxc.rootfs.path", parsePveTarget("9.1")),
    "Proxmox VE generates it from the rootfs property",
  );
});

Deno.test("pveLxcKeyProblem() takes the keys added later only from the pve-container release that has them", () => {
  assert.deepEqual(pveLxcKeyProblem("lxc.init.cwd", parsePveTarget("pve-container/6.0.1")), undefined);
  assert.deepEqual(
    pveLxcKeyProblem("lxc.init.cwd", parsePveTarget("8")),
    "pve-container takes it from 6.0.1 on; this conf is for 5.0.0 (Proxmox VE 8)",
  );
  assert.deepEqual(pveLxcKeyProblem("lxc.environment.runtime", parsePveTarget("9.1")), undefined);
  assert(pveLxcKeyProblem("lxc.init.uid", parsePveTarget("9.1"))?.startsWith("pve-container takes it from 6.1.0 on"));
  assert.deepEqual(pveLxcKeyProblem("lxc.init.uid", parsePveTarget("pve-container/6.1.0")), undefined);
});
