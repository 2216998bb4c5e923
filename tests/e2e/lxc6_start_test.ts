/**
 * One DEST, two LXC versions: a container converted by the CLI is started
 * by the host's LXC 5 and by LXC 6 from the cached Debian 13 root
 * (tests/e2e/_lxc6.ts), and the program in it writes the argv it got, one
 * NUL-terminated argument each, into its rootfs. Both must equal the image's
 * argv. The program is a busybox script run through its `#!/bin/busybox sh`
 * line, so an image without /bin/sh can run it too.
 */
import assert from "node:assert/strict";
import { tarOf, withTempDir, writeOciDir } from "../_helpers/oci_builder.ts";
import { cli } from "./_cli.ts";
import { catchesSignal, commandLine, containerPids, sh } from "./_lxc.ts";
import { Lxc6Host } from "./_lxc6.ts";
import { waitFor } from "../_helpers/wait_for.ts";

const BUSYBOX = "/usr/bin/busybox";
const PRINT = `#!/bin/busybox sh\nfor a in "$@"; do printf '%s\\0' "$a"; done > /argv.out\n`;

/** The issue's case: no space and no empty argument, so LXC 5 alone would take each as it is. */
const TABS_AND_QUOTES = ['"a', 'b"', "'c", "a\tb", "\t", "x'y", "'", '"'];
/** The rest of what a splitter can get wrong. */
const NASTY = [
  "two words",
  "",
  " lead",
  "trail ",
  "back\\slash",
  "\\",
  "$HOME",
  "${PATH}",
  `it's "both"`,
  "a\t b",
  "--opt=v w",
  "*",
  "#x",
  "; exit 1",
  "'q'",
];

/** An OCI layout whose command is `/print ARGS`; with or without /bin/sh. */
async function printImage(dir: string, args: readonly string[], options: { shell: boolean; stopSignal?: string }) {
  const root = `${dir}/image-root`;
  for (const d of ["bin", "dev", "proc", "sys", "tmp", "etc"]) Deno.mkdirSync(`${root}/${d}`, { recursive: true });
  Deno.copyFileSync(BUSYBOX, `${root}/bin/busybox`);
  if (options.shell) Deno.symlinkSync("busybox", `${root}/bin/sh`);
  Deno.writeTextFileSync(`${root}/print`, PRINT, { mode: 0o755 });
  Deno.chmodSync(`${root}/print`, 0o755);
  const tar = await tarOf(root);
  Deno.removeSync(root, { recursive: true });
  await writeOciDir(`${dir}/image`, [{ tar, compression: "gzip" }], {
    Cmd: ["/print", ...args],
    Env: ["PATH=/bin"],
    ...(options.stopSignal ? { StopSignal: options.stopSignal } : {}),
  });
  return `oci:${dir}/image`;
}

/** The argv the container's program wrote, or the LXC output when it wrote none. */
function readArgv(dest: string, lxcOutput: string): string[] {
  let text: string;
  try {
    text = Deno.readTextFileSync(`${dest}/rootfs/argv.out`);
  } catch {
    throw new Error(`the container wrote no argv: ${lxcOutput}`);
  }
  Deno.removeSync(`${dest}/rootfs/argv.out`);
  const parts = text.split("\0");
  parts.pop(); // after the last NUL
  return parts;
}

/** Start the container in the foreground under the host's LXC 5 until its program ends (bounded by sh). */
async function argvUnderLxc5(parent: string, name: string): Promise<string[]> {
  const r = await sh(["lxc-start", "-F", "-n", name, "-P", parent, "-l", "INFO", "-o", `${parent}/lxc5.log`], {
    PATH: "/usr/sbin:/usr/bin:/sbin:/bin",
  });
  return readArgv(`${parent}/${name}`, `exit ${r.code}: ${r.out}${readLog(`${parent}/lxc5.log`)}`);
}

/** The same under LXC 6. */
async function argvUnderLxc6(lxc6: Lxc6Host, parent: string, name: string): Promise<string[]> {
  const r = await lxc6.run(["lxc-start", "-F", "-n", name, "-P", parent, "-l", "INFO", "-o", `${parent}/lxc6.log`]);
  return readArgv(`${parent}/${name}`, `exit ${r.code}: ${r.out}${readLog(`${parent}/lxc6.log`)}`);
}

function readLog(path: string): string {
  try {
    return Deno.readTextFileSync(path).split("\n").filter((l) => /ERROR|WARN/.test(l)).join("\n");
  } catch {
    return "";
  }
}

function initCmd(dest: string): string {
  return Deno.readTextFileSync(`${dest}/config`).split("\n").find((l) => l.startsWith("lxc.init.cmd"))!;
}

/** Convert, then start the same DEST under each LXC in `under`, each time comparing the argv with the image's. */
async function checkArgv(
  args: readonly string[],
  options: { shell: boolean; stopSignal?: string; lxcVersion: string; under: readonly (5 | 6)[] },
): Promise<string> {
  return await withTempDir(async (parent) => {
    const name = `o2l-lxc6-${crypto.randomUUID().slice(0, 6)}`;
    const dest = `${parent}/${name}`;
    const image = await printImage(parent, args, options);
    const converted = await cli("main.ts", ["convert", image, dest, "--quiet", "--lxc-version", options.lxcVersion]);
    assert.deepEqual(converted.code, 0, converted.stderr);
    const line = initCmd(dest);
    if (options.under.includes(5)) {
      assert.deepEqual(await argvUnderLxc5(parent, name), [...args], `LXC 5 with ${line}`);
    }
    if (options.under.includes(6)) {
      await using lxc6 = await Lxc6Host.open();
      assert((await lxc6.version()).startsWith("6."), await lxc6.version());
      await lxc6.bind(parent);
      assert.deepEqual(await argvUnderLxc6(lxc6, parent, name), [...args], `LXC 6 with ${line}`);
    }
    return Deno.readTextFileSync(`${dest}/config`);
  });
}

Deno.test("the host's LXC is 5, so the tests below compare two versions", async () => {
  assert((await sh(["lxc-start", "--version"])).out.trim().startsWith("5."));
});

Deno.test("a config for LXC 5 with tabs and leading quotes in the argv runs the image's argv under LXC 5 and LXC 6", async () => {
  await checkArgv(TABS_AND_QUOTES, { shell: true, lxcVersion: "5.0.2", under: [5, 6] });
});

Deno.test("a config for LXC 5 with LXC's init as PID 1 runs a nasty argv alike under LXC 5 and LXC 6", async () => {
  await checkArgv([...NASTY, ...TABS_AND_QUOTES], {
    shell: true,
    stopSignal: "SIGQUIT",
    lxcVersion: "5.0.2",
    under: [5, 6],
  });
});

Deno.test("a config for LXC 6 of an image with a shell runs a nasty argv alike under LXC 5 and LXC 6", async () => {
  await checkArgv([...NASTY, ...TABS_AND_QUOTES], { shell: true, lxcVersion: "6.0.4", under: [5, 6] });
});

Deno.test("a config for LXC 6 of an image without a shell uses LXC 6's quotes, and LXC 6 runs the image's argv", async () => {
  // Everything LXC 6's splitter can represent: no argument needing quotes holds both quote characters.
  const args = ["two words", "", " lead", "trail ", "back\\slash", "$HOME", "a\t b", "'", '"a', "x'y", "it's", '"q" r'];
  const config = await checkArgv(args, { shell: false, stopSignal: "SIGQUIT", lxcVersion: "6.0.4", under: [6] });
  assert(config.includes("# This lxc.init.cmd is quoted for LXC 6 and later"), config);
});

Deno.test("a config for --lxc-version 6.0.5 gives the environment in lxc.environment, which LXC 5 and LXC 6.0.4 take", async () => {
  // lxc.environment.runtime is upstream's from 7.0.0 only: LXC 5.0.2 and 6.0.4 refuse a config that has it.
  const config = await checkArgv(["x"], { shell: true, lxcVersion: "6.0.5", under: [5, 6] });
  assert(config.includes("\nlxc.environment = PATH=/bin\n"), config);
  assert(!config.includes("lxc.environment.runtime"), config);
});

/** Reads the busybox fixture's report (tests/e2e/lxc_start_test.ts checks the same under LXC 5 alone). */
function parseReport(text: string) {
  const fields = new Map<string, string>();
  const argv: string[] = [];
  const env: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const a = /^argv\[\d+\]=(.*)$/.exec(line);
    if (a) argv.push(a[1]!);
    else if (line.startsWith("env:")) {
      const eq = line.indexOf("=");
      env[line.slice(4, eq)] = line.slice(eq + 1);
    } else if (line.includes("=")) fields.set(line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1));
  }
  return { fields, argv, env };
}

type Runner = (argv: readonly string[], env?: Record<string, string>) => Promise<{ code: number; out: string }>;

/** Start DEST in the background with `lxc`, check what the app saw, stop it by its signal. */
async function startAndStop(lxc: Runner, version: string, parent: string, name: string): Promise<void> {
  const dest = `${parent}/${name}`;
  // The report of an earlier run must not be read as this one's.
  try {
    Deno.removeSync(`${dest}/rootfs/data/report`);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  try {
    // A variable of the caller must not reach the app.
    const started = await lxc(["lxc-start", "-d", "-n", name, "-P", parent, "-l", "INFO", "-o", `${parent}/lxc.log`], {
      OCI2LXC_CALLER_SECRET: "leak",
    });
    assert.deepEqual(started.code, 0, `${version}: ${started.out}`);
    const report = await waitFor(`the app's report under LXC ${version}`, 15_000, () => {
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
    ], version);
    assert.deepEqual(
      [r.fields.get("uid"), r.fields.get("gid"), r.fields.get("groups"), r.fields.get("pwd")],
      ["1000", "1000", "1000 2000", "/work"],
      version,
    );
    assert.deepEqual(r.env, {
      EQUATION: "a=b=c",
      GREETING: "hello world",
      HOME: "/home/app",
      HOSTNAME: name,
      PATH: "/bin",
      QUOTES: `it's "quoted"`,
      container: "lxc",
    }, version);
    // The app traps SIGQUIT after writing its report: wait for the trap, then stop with the signal only.
    const info = await lxc(["lxc-info", "-n", name, "-P", parent, "-p", "-H"]);
    const initPid = Number(info.out.trim());
    assert(initPid > 1, `${version}: ${info.out}`);
    await waitFor(
      `the app's QUIT trap under LXC ${version}`,
      15_000,
      () =>
        containerPids(initPid).some((p) => commandLine(p).includes("report") && catchesSignal(p, 3)) ? true : undefined,
    );
    const stopped = await lxc(["lxc-stop", "-n", name, "-P", parent, "--nokill", "-t", "60"]);
    assert.deepEqual(stopped.code, 0, `${version}: the stop signal did not end the app: ${stopped.out}`);
    assert(Deno.readTextFileSync(`${dest}/rootfs/data/report`).includes("signal=QUIT"), `${version}: no SIGQUIT`);
    assert.deepEqual((await lxc(["lxc-info", "-n", name, "-P", parent, "-s", "-H"])).out.trim(), "STOPPED", version);
  } finally {
    await lxc(["lxc-stop", "-n", name, "-P", parent, "-k", "-t", "5"]);
  }
}

Deno.test("the converted busybox app, one DEST, runs under LXC 5 and LXC 6 with the image's argv, user, groups, env and cwd, and stops by its signal", async () => {
  await withTempDir(async (parent) => {
    const name = `o2l-lxc6-${crypto.randomUUID().slice(0, 6)}`;
    const converted = await cli("main.ts", [
      "convert",
      "oci-archive:fixtures/images/busybox.oci.tar",
      `${parent}/${name}`,
    ]);
    assert.deepEqual(converted.code, 0, converted.stderr);
    await startAndStop((argv, env) => sh([...argv], env), "5", parent, name);
    await using lxc6 = await Lxc6Host.open();
    await lxc6.bind(parent);
    await startAndStop((argv, env) => lxc6.run(argv, env), await lxc6.version(), parent, name);
  });
});

Deno.test("more argv LXC 5 and 6 must read alike: UTF-8 with blanks, the launcher's own words, blanks only, NBSP", async () => {
  // "$s", "$t", "${IFS}" and "%??" are the launcher script's own words; NBSP and UTF-8 are no C isspace.
  const more = ["é ü", "日本 語", "${IFS}", "$s", "$t", "  ", "\t\t", `'"'`, "-", "--", "\u00a0x\u00a0", "a  b", "x\\"];
  await checkArgv([...more, "%??", "${IFS%??}"], { shell: true, lxcVersion: "5.0.2", under: [5, 6] });
  await checkArgv([...more, "%??", "${IFS%??}"], { shell: true, lxcVersion: "6.0.4", under: [5, 6] });
  // Without a shell, LXC 6's quoting: every one of them that holds at most one kind of quote.
  await checkArgv(more.filter((a) => !a.includes("'") || !a.includes('"')), {
    shell: false,
    lxcVersion: "6.0.4",
    under: [6],
  });
});
