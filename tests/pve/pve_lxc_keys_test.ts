import { pveLxcKeyProblem } from "../../core/pve/pve_lxc_keys.ts";
import { assert, assertEquals } from "../_helpers/assert.ts";

Deno.test("pveLxcKeyProblem() takes pve-container's fixed keys and its cgroup2, prlimit and net families", () => {
  for (
    const key of [
      "lxc.mount.entry",
      "lxc.cap.drop",
      "lxc.cgroup2.memory.max",
      "lxc.prlimit.nofile",
      "lxc.net.0.ipv4.address",
    ]
  ) {
    assertEquals(pveLxcKeyProblem(key, "7"), undefined, key);
  }
});

Deno.test("pveLxcKeyProblem() refuses keys Proxmox VE drops, and says why for the rootfs ones", () => {
  assert(pveLxcKeyProblem("lxc.hook.start-host", "9.1")?.includes("drops the others"));
  assert(pveLxcKeyProblem("lxc.cgroup.devices.allow", "8")?.includes("use the lxc.cgroup2.* key"));
  assertEquals(pveLxcKeyProblem("lxc.rootfs.path", "9.1"), "Proxmox VE generates it from the rootfs property");
});

Deno.test("pveLxcKeyProblem() takes the keys added later only from the version that has them", () => {
  assertEquals(pveLxcKeyProblem("lxc.init.cwd", "9.0"), undefined);
  assertEquals(
    pveLxcKeyProblem("lxc.init.cwd", "8"),
    "Proxmox VE takes it from 9.0 on (pve-container 6.0.1); this conf is for 8",
  );
  assertEquals(pveLxcKeyProblem("lxc.init.uid", "9.1"), undefined);
  assert(pveLxcKeyProblem("lxc.init.uid", "9.0")?.startsWith("Proxmox VE takes it from 9.1 on"));
});
