import { parsePveTarget } from "../../core/pve/pve_conf.ts";
import { pveLxcKeyProblem } from "../../core/pve/pve_lxc_keys.ts";
import { assert, assertEquals } from "../_helpers/assert.ts";

Deno.test("pveLxcKeyProblem() takes pve-container's fixed keys and its cgroup2, prlimit and net families", () => {
  const keys = ["lxc.mount.entry", "lxc.cap.drop", "lxc.cgroup2.memory.max", "lxc.prlimit.nofile", "lxc.net.0.flags"];
  for (const key of keys) assertEquals(pveLxcKeyProblem(key, parsePveTarget("7")), undefined, key);
});

Deno.test("pveLxcKeyProblem() refuses keys Proxmox VE drops, and says why for the rootfs and cgroup v1 ones", () => {
  assert(pveLxcKeyProblem("lxc.hook.start-host", parsePveTarget("9.1"))?.includes("drops the others"));
  assert(pveLxcKeyProblem("lxc.cgroup.devices.allow", parsePveTarget("8"))?.includes("use the lxc.cgroup2.* key"));
  assertEquals(
    pveLxcKeyProblem("lxc.rootfs.path", parsePveTarget("9.1")),
    "Proxmox VE generates it from the rootfs property",
  );
});

Deno.test("pveLxcKeyProblem() takes the keys added later only from the pve-container release that has them", () => {
  assertEquals(pveLxcKeyProblem("lxc.init.cwd", parsePveTarget("pve-container/6.0.1")), undefined);
  assertEquals(
    pveLxcKeyProblem("lxc.init.cwd", parsePveTarget("8")),
    "pve-container takes it from 6.0.1 on; this conf is for 5.0.0 (Proxmox VE 8)",
  );
  assertEquals(pveLxcKeyProblem("lxc.environment.runtime", parsePveTarget("9.1")), undefined);
  assert(pveLxcKeyProblem("lxc.init.uid", parsePveTarget("9.1"))?.startsWith("pve-container takes it from 6.1.0 on"));
  assertEquals(pveLxcKeyProblem("lxc.init.uid", parsePveTarget("pve-container/6.1.0")), undefined);
});
