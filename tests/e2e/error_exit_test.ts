/**
 * The program never ends on an uncaught exception: Deno would then print an
 * "Uncaught" trace (and with RUST_BACKTRACE=1, set on our machines, a Rust
 * backtrace on a panic). Failures from the system (a DEST parent a normal
 * user cannot write: exit code 9, destination) and from stray code (a plugin's
 * timer that throws, a promise nobody awaits: exit code 1, unexpected) each end
 * as one `error:` line, with the staging directory removed; --debug adds the
 * chain of causes.
 */
import assert from "node:assert/strict";
import { withTempDir } from "../_helpers/oci_builder.ts";
import { bundle, cli, type CliResult, ENTRIES, type Entry, PROJECT_ROOT } from "./_cli.ts";

const NOBODY = 65534;
const CRASH = /Stack backtrace|Uncaught|panicked|RUST_BACKTRACE/;

/** Run the CLI as uid/gid 65534 (nobody) from files that user can read. */
async function cliAsNobody(entry: Entry, dir: string, args: string[]): Promise<CliResult> {
  let script = `${PROJECT_ROOT}main.ts`;
  if (entry === "bundle") {
    script = `${dir}/oci2lxc.js`; // the bundle's own temp dir is private to root
    await Deno.copyFile(await bundle(), script);
    await Deno.chmod(script, 0o644);
  }
  await Deno.mkdir(`${dir}/deno-dir`, { recursive: true });
  await Deno.chown(`${dir}/deno-dir`, NOBODY, NOBODY);
  const result = await new Deno.Command("setpriv", {
    args: [
      `--reuid=${NOBODY}`,
      `--regid=${NOBODY}`,
      "--clear-groups",
      Deno.execPath(),
      "run",
      "-A",
      "--quiet",
      script,
      ...args,
    ],
    cwd: dir,
    stdout: "piped",
    stderr: "piped",
    clearEnv: true,
    env: { NO_COLOR: "1", RUST_BACKTRACE: "1", HOME: dir, DENO_DIR: `${dir}/deno-dir`, PATH: "/usr/bin:/bin" },
  }).output();
  const decoder = new TextDecoder();
  return { code: result.code, stdout: decoder.decode(result.stdout), stderr: decoder.decode(result.stderr) };
}

for (const entry of ENTRIES) {
  Deno.test(`[${entry}] a DEST parent a normal user cannot write is one error line and exit 9, no backtrace`, async () => {
    await withTempDir(async (dir) => {
      await Deno.chmod(dir, 0o755);
      await Deno.mkdir(`${dir}/locked`, { mode: 0o700 });
      await Deno.copyFile(`${PROJECT_ROOT}fixtures/images/busybox.oci.tar`, `${dir}/busybox.oci.tar`);
      await Deno.chmod(`${dir}/busybox.oci.tar`, 0o644);
      const args = ["convert", `${dir}/busybox.oci.tar`, `${dir}/locked/sub/ct`, "--allow-approximate", "-q"];

      const r = await cliAsNobody(entry, dir, args);
      assert.deepEqual(r.code, 9, r.stderr);
      assert.deepEqual(r.stdout, "");
      assert(!CRASH.test(r.stderr), r.stderr);
      const lines = r.stderr.trimEnd().split("\n");
      assert.deepEqual(lines.length, 1, r.stderr);
      assert(lines[0]!.startsWith(`error: Cannot create a staging directory beside ${dir}/locked/sub/ct: `), r.stderr);

      const debug = await cliAsNobody(entry, dir, [...args, "--debug"]);
      assert.deepEqual(debug.code, 9);
      assert(!CRASH.test(debug.stderr), debug.stderr);
      assert(/^caused by: .*Permission denied/m.test(debug.stderr), debug.stderr);

      const refused = await cliAsNobody(entry, dir, args.filter((a) => a !== "--allow-approximate"));
      assert.deepEqual(refused.code, 2, refused.stderr);
      assert(refused.stderr.startsWith("error: Cannot convert as a normal user without approximating"), refused.stderr);
      assert(/^hint: Run as root, or pass --allow-approximate/m.test(refused.stderr), refused.stderr);
    });
  });

  Deno.test(`[${entry}] an error thrown by a plugin's stray timer or promise stops the conversion cleanly with exit 1`, async () => {
    await withTempDir(async (dir) => {
      await Deno.writeTextFile(
        `${dir}/timer.ts`,
        `export default { name: "stray-timer", rootfs() {
          setTimeout(() => { throw new RangeError("a timer threw"); }, 0);
          return new Promise((r) => setTimeout(r, 50));
        } };\n`,
      );
      await Deno.writeTextFile(
        `${dir}/promise.ts`,
        `export default { name: "stray-promise", rootfs() { Promise.reject(new TypeError("nobody awaited this")); } };\n`,
      );
      await Deno.mkdir(`${dir}/out`); // there before: a failed run removes only the directories it created
      for (const [plugin, message] of [["timer", "a timer threw"], ["promise", "nobody awaited this"]]) {
        const r = await cli(entry, [
          "convert",
          "fixtures/images/busybox.oci.tar",
          `${dir}/out/${plugin}`,
          "--plugin",
          `${dir}/${plugin}.ts`,
          "-q",
        ]);
        assert.deepEqual(r.code, 1, r.stderr);
        assert(!CRASH.test(r.stderr), r.stderr);
        assert.deepEqual(r.stderr.split("\n")[0], `error: Cannot finish: ${message}`);
        assert(r.stderr.includes("hint: Run again with --debug"), r.stderr);
        const left = [...Deno.readDirSync(`${dir}/out`)].map((e) => e.name).filter((n) => n.includes("staging"));
        assert.deepEqual(left, [], "no staging directory left");
      }
      // The timer fired before the commit: the conversion stopped and DEST never appeared.
      assert(!Deno.readDirSync(`${dir}/out`).some((e) => e.name === "timer"));
    });
  });
}
