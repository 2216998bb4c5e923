/**
 * One DEST, two LXC versions: a container converted by the CLI is started
 * by the host's LXC 5 and by LXC 6 from the cached Debian 13 root
 * (tests/e2e/_lxc6.ts), and the program in it writes the argv it got, one
 * NUL-terminated argument each, into its rootfs. Both must equal the image's
 * argv. The program is a busybox script run through its `#!/bin/busybox sh`
 * line, so an image without /bin/sh can run it too.
 */
import { assert, assertEquals } from "../_helpers/assert.ts";
import { tarOf, withTempDir, writeOciDir } from "../_helpers/oci_builder.ts";
import { cli } from "./_cli.ts";
import { sh } from "./_lxc.ts";
import { Lxc6Host } from "./_lxc6.ts";

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
    assertEquals(converted.code, 0, converted.stderr);
    const line = initCmd(dest);
    if (options.under.includes(5)) {
      assertEquals(await argvUnderLxc5(parent, name), [...args], `LXC 5 with ${line}`);
    }
    if (options.under.includes(6)) {
      await using lxc6 = await Lxc6Host.open();
      assert((await lxc6.version()).startsWith("6."), await lxc6.version());
      await lxc6.bind(parent);
      assertEquals(await argvUnderLxc6(lxc6, parent, name), [...args], `LXC 6 with ${line}`);
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
