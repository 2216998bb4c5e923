/**
 * Ctrl-C while `convert --force` removes the old DEST after the swap (issue
 * 11, item 5): the removal gives the event loop its turns, so the signal is
 * seen at once; the new container stays in place, the error says so and
 * where the rest of the old one is, and the next run removes that rest.
 *
 * The moment is made certain as in interrupt_test.ts: once DEST holds the
 * new config and the old tree sits under its staging name, the converter is
 * frozen (SIGSTOP), the test checks it is still mid-way, sends SIGINT and
 * lets it go on (SIGCONT).
 */
import assert from "node:assert/strict";
import { FIXTURES, withTempDir } from "../_helpers/oci_builder.ts";
import { ENTRIES, spawnCli } from "./_cli.ts";
import { processState } from "./_lxc.ts";
import { waitFor } from "../_helpers/wait_for.ts";

/** An old container with 100,000 empty files in its rootfs: seconds to remove, so the signal lands mid-way. */
async function bigOldContainer(dest: string): Promise<void> {
  Deno.mkdirSync(`${dest}/rootfs`, { recursive: true });
  Deno.writeTextFileSync(`${dest}/config`, "lxc.uts.name = old\n");
  const script = "for d in $(seq 40); do mkdir d$d && (cd d$d && seq 2500 | xargs touch); done";
  const r = await new Deno.Command("sh", { args: ["-c", script], cwd: `${dest}/rootfs` }).output();
  assert(r.success, "could not make the old tree");
}

function oldTreeIn(dir: string): string | undefined {
  return [...Deno.readDirSync(dir)].find((e) => e.name.startsWith(".ct.oci2lxc-staging-"))?.name;
}

function newConfigIn(dest: string): boolean {
  try {
    return Deno.readTextFileSync(`${dest}/config`).includes("Made by oci2lxc");
  } catch {
    return false;
  }
}

for (const entry of ENTRIES) {
  Deno.test(`[${entry}] SIGINT while --force removes the old DEST: exit 130 at once, new DEST in place, rest removed by the next run`, async () => {
    await withTempDir(async (dir) => {
      const dest = `${dir}/ct`;
      await bigOldContainer(dest);
      const child = await spawnCli(entry, ["convert", `${FIXTURES}busybox.oci.tar`, dest, "--force", "--quiet"]);
      const output = child.output();
      // A bound against a hang, not a speed test.
      const stop = setTimeout(() => child.kill("SIGKILL"), 180_000);
      try {
        // false: the child is killed below before the test fails with its own message.
        const swapped = await waitFor("the swap", 60_000, () => newConfigIn(dest) && oldTreeIn(dir) !== undefined, {
          everyMs: 1,
        }).then(() => true, () => false);
        if (swapped) {
          child.kill("SIGSTOP");
          await waitFor("the converter to stop on SIGSTOP", 10_000, () => processState(child.pid) === "T", {
            everyMs: 1,
          });
        }
        const old = oldTreeIn(dir);
        if (!swapped || old === undefined) {
          child.kill("SIGKILL");
          await output;
          throw new Error(swapped ? "the old DEST was gone when it was frozen" : "no swap within 60 s");
        }
        child.kill("SIGINT");
        child.kill("SIGCONT");
        const r = await output;
        const stderr = new TextDecoder().decode(r.stderr);
        assert.deepEqual(r.code, 130, `exit ${r.code}:\n${stderr}`);
        const line = /^error: .*$/m.exec(stderr)?.[0] ?? "";
        assert(
          line.startsWith(`error: Cannot remove the old ${dest}: interrupted while removing it: `) &&
            line.endsWith(`the new container is in place in ${dest}; what is left of the old one is ${dir}/${old}`),
          stderr,
        );
        assert(/^hint: The next conversion into \S+ removes /m.test(stderr), stderr);
        assert(newConfigIn(dest) && Deno.statSync(`${dest}/rootfs/bin/busybox`).isFile, "the new DEST is in place");
        assert(Deno.statSync(`${dir}/${old}`).isDirectory, "the rest of the old one is where the error says");
      } finally {
        clearTimeout(stop);
      }
      // The next run for DEST removes what is left, and says so.
      const next = await spawnCli(entry, ["convert", `${FIXTURES}busybox.oci.tar`, dest, "--force"]);
      const r = await next.output();
      const stderr = new TextDecoder().decode(r.stderr);
      assert.deepEqual(r.code, 0, stderr);
      assert(
        /^warning: removed \S+\/\.ct\.oci2lxc-staging-\S+, a staging directory left by an earlier run/m.test(stderr),
        stderr,
      );
      assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["ct"]);
    });
  });
}
