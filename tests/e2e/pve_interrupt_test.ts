/**
 * Ctrl-C while `convert --format pve` writes the template (its commit): README promises that a conversion stops
 * within a fraction of a second and leaves DEST as it was. The template write (`writePveTemplate` → `tarRootfs`) was
 * one synchronous walk that gave the event loop no turn, so the signal was seen only once the template was complete:
 * the run then ended 0 with the template in place (for a 100 MB Debian rootfs: 1.6 s after SIGINT, exit 0; a larger
 * image takes minutes).
 *
 * The template walk is now async with pauses and the signal (tarRootfs, writePveTemplate and the Proxmox VE writer's
 * `write`). The moment is made certain as in commit_interrupt_test.ts: once the partial template exists the converter
 * is frozen (SIGSTOP), SIGINT is sent, and it goes on (SIGCONT).
 */
import assert from "node:assert/strict";
import { debianSystemImage } from "../_helpers/debian_rootfs.ts";
import { withTempDir } from "../_helpers/oci_builder.ts";
import { spawnCli } from "./_cli.ts";
import { processState } from "./_lxc.ts";

function partialIn(dir: string): string | undefined {
  try {
    return [...Deno.readDirSync(dir)].find((e) => e.name.includes(".tar.zst.partial-"))?.name;
  } catch {
    return undefined;
  }
}

Deno.test({
  name: "SIGINT while --format pve writes the template: exit 130 soon, no template and no partial file left",
  fn: async () => {
    await withTempDir(async (dir) => {
      const image = await debianSystemImage(`${dir}/image`);
      const out = `${dir}/out`;
      const child = await spawnCli("main.ts", [
        ...["convert", `oci:${image.dir}`, out, "--format", "pve", "--vmid", "130", "--quiet"],
      ]);
      const output = child.output();
      const stop = setTimeout(() => child.kill("SIGKILL"), 180_000); // a bound against a hang, not a speed test
      try {
        let seen = false;
        for (let i = 0; i < 60_000 && !seen; i++) {
          seen = partialIn(out) !== undefined;
          if (!seen) await new Promise((r) => setTimeout(r, 1));
        }
        assert(seen, "the template was being written");
        child.kill("SIGSTOP");
        let frozen = false;
        for (let i = 0; i < 10_000 && !frozen; i++) {
          frozen = processState(child.pid) === "T";
          if (!frozen) await new Promise((r) => setTimeout(r, 1));
        }
        assert(frozen, `the converter did not stop on SIGSTOP: state ${processState(child.pid)}`);
        assert(partialIn(out) !== undefined, "still mid-way");
        child.kill("SIGINT");
        child.kill("SIGCONT");
        const r = await output;
        const stderr = new TextDecoder().decode(r.stderr);
        assert.deepEqual(r.code, 130, stderr);
        assert(/^error: .*interrupted/m.test(stderr), stderr);
        assert.deepEqual(
          [...Deno.readDirSync(out)].map((e) => e.name),
          [],
          "neither the template nor its partial file",
        );
      } finally {
        clearTimeout(stop);
      }
    });
  },
});
