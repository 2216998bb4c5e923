import assert from "node:assert/strict";
import { splitInitCmdLikeLxc } from "../../core/lxc/quote_init_cmd.ts";
import { makePlan } from "../../core/plan/make_plan.ts";
import { directoryRootfsReader } from "../../core/plan/rootfs_reader.ts";
import { pveInitCommand } from "../../core/pve/pve_init_cmd.ts";

Deno.test("pveInitCommand for Proxmox VE 7 sends tabs and leading quotes through the launcher, as LXC 6 after an upgrade reads them", () => {
  // PVE 7 runs LXC 4/5, which would take these as they are; PVE 8 and 9 run LXC 6, which splits them otherwise.
  const root = Deno.makeTempDirSync({ prefix: "oci2lxc-pveinit-" });
  try {
    Deno.mkdirSync(`${root}/bin`);
    Deno.writeTextFileSync(`${root}/bin/sh`, "");
    const argv = ["/app", '"a', 'b"', "'c", "a\tb"];
    const plan = makePlan(
      { config: { Cmd: argv } },
      { os: "linux", architecture: "amd64" },
      directoryRootfsReader(root),
      { name: "web" },
    );
    const cmd = pveInitCommand(plan, "7")!;
    assert.equal(cmd.key, "lxc.init.cmd");
    const space = splitInitCmdLikeLxc(cmd.value, "space");
    assert.deepEqual(splitInitCmdLikeLxc(cmd.value, "quoted"), space, cmd.value);
    assert.deepEqual(space.slice(0, 2), ["/bin/sh", "-c"], cmd.value);
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
});
