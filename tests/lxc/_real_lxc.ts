/**
 * Running throw-away LXC containers in tests: a rootfs in a temp dir with
 * the host's static busybox bind-mounted at /bin/busybox and a host
 * directory at /out, where a script writes what the container saw.
 *
 * These tests need root, LXC (`lxc-start`, `init.lxc.static`) and a static
 * busybox (Debian: `busybox-static`). Without them they fail with a message
 * saying what is missing, unless OCI2LXC_SKIP_LXC_TESTS=1 is set.
 *
 * @module
 */
import { escapeMountField } from "../../core/lxc/mount_entry.ts";
import type { Lxc6Host } from "../e2e/_lxc6.ts";
import { requireSystemTier } from "../_helpers/tier.ts";

export const BUSYBOX = "/usr/bin/busybox";
export const INIT_LXC = "/usr/sbin/init.lxc.static";
const STEP_TIMEOUT_MS = 60_000;

function which(cmd: string): boolean {
  for (
    const dir of (Deno.env.get("PATH") ?? "/usr/sbin:/usr/bin:/sbin:/bin")
      .split(":")
  ) {
    try {
      if (Deno.statSync(`${dir}/${cmd}`).isFile) return true;
    } catch { /* next */ }
  }
  return false;
}

/** Whether an ELF file has no program interpreter (is static). */
function isStaticElf(path: string): boolean {
  let bytes: Uint8Array;
  try {
    bytes = Deno.readFileSync(path);
  } catch {
    return false;
  }
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (v.getUint32(0) !== 0x7f454c46 || bytes[4] !== 2) return false; // 64-bit ELF only
  const le = bytes[5] === 1;
  const phoff = Number(v.getBigUint64(0x20, le));
  const phentsize = v.getUint16(0x36, le);
  const phnum = v.getUint16(0x38, le);
  for (let i = 0; i < phnum; i++) {
    if (v.getUint32(phoff + i * phentsize, le) === 3) return false; // PT_INTERP
  }
  return true;
}

/** Why real-LXC tests cannot run here, or `undefined` when they can. */
export function lxcMissing(): string | undefined {
  requireSystemTier("LXC");
  if (Deno.uid() !== 0) return "they must run as root";
  for (const cmd of ["lxc-start", "lxc-execute", "lxc-stop"]) {
    if (!which(cmd)) return `${cmd} is not installed`;
  }
  if (!isStaticElf(INIT_LXC)) return `${INIT_LXC} is missing`;
  if (!isStaticElf(BUSYBOX)) {
    return `${BUSYBOX} is not a static busybox (install busybox-static)`;
  }
  return undefined;
}

/** `ignore` for Deno.test: only when the user asked to skip. */
export const SKIP_LXC = Deno.env.get("OCI2LXC_SKIP_LXC_TESTS") === "1";

/** Throw when LXC tests cannot run (called at the top of each real-LXC test). */
export function requireLxc(): void {
  const why = lxcMissing();
  if (why) {
    throw new Error(
      `Cannot run real-LXC tests: ${why} (set OCI2LXC_SKIP_LXC_TESTS=1 to skip them)`,
    );
  }
}

/** The script every test container runs: it records argv, ids, cwd and environment. */
export const PRINT_SCRIPT = `#!/bin/busybox sh
for a in "$@"; do printf '%s\\0' "$a"; done > /out/args
printf '%s\\0' "$(/bin/busybox id -u)" "$(/bin/busybox id -g)" "$(/bin/busybox id -G)" "$(/bin/busybox readlink /proc/$$/cwd)" > /out/ids
/bin/busybox cat /proc/$$/environ > /out/env
`;

/** What one container run left behind. */
export interface RunResult {
  /** Exit status of lxc-start / lxc-execute. */
  readonly code: number;
  /** The arguments the script received ($1…), or `undefined` if it did not run. */
  readonly args: string[] | undefined;
  /** uid, gid, `id -G` output, cwd. */
  readonly ids: string[] | undefined;
  /** The environment the script was started with. */
  readonly env: string[] | undefined;
  /** LXC's log, for failure messages. */
  readonly log: string;
  /** Directory of this run (removed by `dispose`). */
  readonly dir: string;
}

/** A sandbox for one container: rootfs, lxcpath and out dir in one temp dir. */
export class LxcSandbox implements AsyncDisposable {
  readonly dir: string;
  readonly rootfs: string;
  readonly out: string;
  readonly lxcpath: string;
  readonly name: string;

  constructor(name: string) {
    this.name = name;
    this.dir = Deno.makeTempDirSync({ prefix: "oci2lxc-lxc-test-" });
    this.rootfs = `${this.dir}/rootfs`;
    this.out = `${this.dir}/out`;
    this.lxcpath = `${this.dir}/lxc`;
    for (
      const d of [
        "rootfs/bin",
        "rootfs/dev",
        "rootfs/proc",
        "rootfs/sys",
        "rootfs/tmp",
        "rootfs/etc",
        "out",
        `lxc/${name}`,
      ]
    ) {
      Deno.mkdirSync(`${this.dir}/${d}`, { recursive: true });
    }
    Deno.chmodSync(this.out, 0o777);
    Deno.writeTextFileSync(`${this.rootfs}/bin/busybox`, "");
    Deno.symlinkSync("busybox", `${this.rootfs}/bin/sh`);
    this.writeScript("/print", PRINT_SCRIPT);
  }

  /** Write an executable file into the rootfs. */
  writeScript(path: string, text: string): void {
    Deno.writeTextFileSync(this.rootfs + path, text, { mode: 0o755 });
    Deno.chmodSync(this.rootfs + path, 0o755);
  }

  /** Lines every test config needs: busybox and the out dir. */
  get harnessLines(): string {
    return [
      `lxc.mount.entry = ${escapeMountField(BUSYBOX)} bin/busybox none bind,ro 0 0`,
      `lxc.mount.entry = ${escapeMountField(this.out)} out none bind,create=dir 0 0`,
    ].join("\n") + "\n";
  }

  /** The minimal config for a loopback-only container on this rootfs. */
  get baseConfig(): string {
    return [
      `lxc.rootfs.path = dir:${this.rootfs}`,
      `lxc.uts.name = ${this.name}`,
      "lxc.net.0.type = empty",
      "lxc.include = /usr/share/lxc/config/common.conf",
    ].join("\n") + "\n" + this.harnessLines;
  }

  /** Write the container's config. */
  writeConfig(text: string): void {
    Deno.writeTextFileSync(`${this.lxcpath}/${this.name}/config`, text);
  }

  /**
   * Run the container in the foreground until PID 1 exits (bounded); with `lxc6`, under LXC 6 in its namespace
   * instead of the host's LXC.
   */
  async run(
    tool: "lxc-start" | "lxc-execute" = "lxc-start",
    lxc6?: Lxc6Host,
  ): Promise<RunResult> {
    const log = `${this.dir}/lxc.log`;
    const args = tool === "lxc-start"
      ? ["-F", "-n", this.name, "-P", this.lxcpath, "-l", "INFO", "-o", log]
      : ["-n", this.name, "-P", this.lxcpath, "-l", "INFO", "-o", log];
    if (lxc6) {
      try {
        await lxc6.bind(this.dir);
        const { code } = await lxc6.run([tool, ...args]);
        return { ...this.#results(log), code };
      } finally {
        await lxc6.run(["lxc-stop", "-k", "-n", this.name, "-P", this.lxcpath]);
      }
    }
    let code = -1;
    try {
      const out = await new Deno.Command(tool, {
        args,
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
        env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" },
        clearEnv: true,
        signal: AbortSignal.timeout(STEP_TIMEOUT_MS),
      }).output();
      // Killed by our bound: no outcome at all, never to be read as "LXC refused it".
      if (out.signal !== null) {
        throw new Error(`${tool} ${this.name} did not finish within ${STEP_TIMEOUT_MS} ms (${out.signal})`);
      }
      code = out.code;
    } finally {
      await this.stop();
    }
    return { ...this.#results(log), code };
  }

  #results(log: string): Omit<RunResult, "code"> {
    return {
      args: this.#readList("args"),
      ids: this.#readList("ids"),
      env: this.#readList("env"),
      log: this.#read(log) ?? "",
      dir: this.dir,
    };
  }

  /** Start the container in the background (bounded). */
  async startDaemon(): Promise<void> {
    const out = await new Deno.Command("lxc-start", {
      args: [
        "-d",
        "-n",
        this.name,
        "-P",
        this.lxcpath,
        "-l",
        "INFO",
        "-o",
        `${this.dir}/lxc.log`,
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(STEP_TIMEOUT_MS),
    }).output();
    if (out.code !== 0) {
      throw new Error(
        `lxc-start failed: ${new TextDecoder().decode(out.stderr)}`,
      );
    }
  }

  /** `lxc-stop` with LXC's halt signal and a timeout in seconds; returns the exit code. */
  async stopGracefully(seconds: number): Promise<number> {
    const out = await new Deno.Command("lxc-stop", {
      args: ["-n", this.name, "-P", this.lxcpath, "-t", String(seconds)],
      stdin: "null",
      stdout: "null",
      stderr: "null",
      signal: AbortSignal.timeout(STEP_TIMEOUT_MS + seconds * 1000),
    }).output();
    return out.code;
  }

  /** Kill the container if it still runs; never throws. */
  async stop(): Promise<void> {
    try {
      await new Deno.Command("lxc-stop", {
        args: ["-k", "-n", this.name, "-P", this.lxcpath],
        stdin: "null",
        stdout: "null",
        stderr: "null",
        signal: AbortSignal.timeout(STEP_TIMEOUT_MS),
      }).output();
    } catch { /* not running, or lxc-stop hung: the temp dir goes anyway */ }
  }

  /** Read a file the container wrote into /out. */
  readOut(name: string): string | undefined {
    return this.#read(`${this.out}/${name}`);
  }

  #read(path: string): string | undefined {
    try {
      return Deno.readTextFileSync(path);
    } catch {
      return undefined;
    }
  }

  #readList(name: string): string[] | undefined {
    const text = this.#read(`${this.out}/${name}`);
    if (text === undefined) return undefined;
    const parts = text.split("\0");
    parts.pop(); // after the last NUL
    return parts;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
    Deno.removeSync(this.dir, { recursive: true });
  }
}

let counter = 0;
/** A container name unique to this test process. */
export function uniqueName(tag: string): string {
  return `o2l-${tag}-${Deno.pid}-${counter++}`;
}

/** Run `fn` over `items` with at most `limit` at a time. */
export async function pool<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!);
    }
  };
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, worker),
  );
  return results;
}
