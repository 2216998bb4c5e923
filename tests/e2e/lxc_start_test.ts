/**
 * The product's promise, checked with the real thing: convert the busybox
 * app fixture with the CLI (from main.ts and from the bundle), start it with
 * `lxc-start`, and look from the host at what the app saw and how it stops.
 */
import assert from "node:assert/strict";
import { withTempDir } from "../_helpers/oci_builder.ts";
import { catchesSignal, commandLine, containerPids, forceStop, processState, sh } from "./_lxc.ts";
import { cli, ENTRIES } from "./_cli.ts";
import { waitFor } from "../_helpers/wait_for.ts";

function parseReport(text: string) {
  const fields = new Map<string, string>();
  const argv: string[] = [];
  const env = new Map<string, string>();
  for (const line of text.split("\n")) {
    const a = /^argv\[\d+\]=(.*)$/.exec(line);
    if (a) argv.push(a[1]!);
    else if (line.startsWith("env:")) {
      const kv = line.slice(4);
      const eq = kv.indexOf("=");
      env.set(kv.slice(0, eq), kv.slice(eq + 1));
    } else if (line.includes("=")) fields.set(line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1));
  }
  // The shell that runs the script sets these itself; they say nothing about the conversion.
  for (const k of ["SHLVL", "PWD", "OLDPWD", "_"]) env.delete(k);
  return { fields, argv, env };
}

for (const entry of ENTRIES) {
  Deno.test(`[${entry}] the converted busybox app runs with the image's argv, user, groups, env and cwd, and stops by its signal`, async () => {
    await withTempDir(async (parent) => {
      const name = `o2l-e2e-${entry === "bundle" ? "b" : "m"}-${crypto.randomUUID().slice(0, 6)}`;
      const dest = `${parent}/${name}`;
      const converted = await cli(entry, ["convert", "oci-archive:fixtures/images/busybox.oci.tar", dest, "--quiet"]);
      assert.deepEqual(converted.code, 0, converted.stderr);
      try {
        // A variable of the caller must not reach the app.
        const started = await sh([
          "lxc-start",
          "-n",
          name,
          "-P",
          parent,
          "-d",
          "-l",
          "DEBUG",
          "-o",
          `${parent}/lxc.log`,
        ], {
          OCI2LXC_CALLER_SECRET: "leak",
        });
        assert.deepEqual(started.code, 0, started.out);
        const report = await waitFor("the app's report", 15_000, () => {
          try {
            const text = Deno.readTextFileSync(`${dest}/rootfs/data/report`);
            return text.includes("env:") ? text : undefined;
          } catch {
            return undefined;
          }
        });
        const r = parseReport(report);
        assert.deepEqual(r.argv, [
          "two words",
          "quote'single",
          'dq"double',
          "$HOME",
          "a=b",
          "cmd one",
          "--opt=v w",
          "back\\slash",
        ]);
        assert.deepEqual(r.fields.get("uid"), "1000");
        assert.deepEqual(r.fields.get("gid"), "1000");
        assert.deepEqual(r.fields.get("groups"), "1000 2000");
        assert.deepEqual(r.fields.get("pwd"), "/work");
        assert.deepEqual(Object.fromEntries(r.env), {
          EQUATION: "a=b=c",
          GREETING: "hello world",
          HOME: "/home/app",
          HOSTNAME: name,
          PATH: "/bin",
          QUOTES: `it's "quoted"`,
          container: "lxc",
        });

        const info = await sh(["lxc-info", "-n", name, "-P", parent, "-p", "-H"]);
        const initPid = Number(info.out.trim());
        assert(initPid > 1, info.out);
        // The app writes its report before it traps SIGQUIT, then leaves an orphan (`sleep 0.2`)
        // for PID 1 to reap, then starts its long sleep. Wait for the trap and the long sleep (so
        // the orphan was made), the orphan gone and no zombie; a zombie that stays fails the wait.
        try {
          await waitFor("the app's QUIT trap, its long sleep, and no orphan or zombie left", 15_000, () => {
            const pids = containerPids(initPid);
            const trapped = pids.some((p) => commandLine(p).includes("report") && catchesSignal(p, 3));
            const sleeping = pids.some((p) => commandLine(p) === "sleep 1000000");
            const orphan = pids.some((p) => commandLine(p) === "sleep 0.2");
            const zombie = pids.some((p) => processState(p) === "Z");
            return trapped && sleeping && !orphan && !zombie ? true : undefined;
          });
        } catch (err) {
          const left = containerPids(initPid).map((p) => `${p} ${processState(p)} ${commandLine(p)}`);
          throw new Error(`${(err as Error).message}: ${left.join(" | ")}`);
        }

        // --nokill: only the stop signal, never a kill; success means the app ended on it.
        const stopped = await sh(["lxc-stop", "-n", name, "-P", parent, "--nokill", "-t", "60"]);
        assert.deepEqual(stopped.code, 0, `the stop signal did not end the app: ${stopped.out}`);
        assert(
          Deno.readTextFileSync(`${dest}/rootfs/data/report`).includes("signal=QUIT"),
          "the app did not see SIGQUIT",
        );
        const state = await sh(["lxc-info", "-n", name, "-P", parent, "-s", "-H"]);
        assert.deepEqual(state.out.trim(), "STOPPED");
      } finally {
        await forceStop(name, parent);
      }
    });
  });
}
