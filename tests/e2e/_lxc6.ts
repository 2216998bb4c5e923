/**
 * Running a container under LXC 6 beside the host's LXC 5: the LXC of the
 * cached Debian 13 root (tests/_helpers/lxc6_root.ts), run by `chroot` inside
 * a private mount namespace, so the same DEST can be started by either
 * version. The recipe is ../shared/TESTING-LXC.md's ("LXC 6 beside the host's
 * LXC 5"): the namespace holds the root bound onto itself, the host's /proc,
 * /sys (with the cgroup mounts) and /dev, tmpfs on the root's /run and /tmp
 * (LXC's locks and our directories leave nothing in the cache), and each
 * container directory bound at its own path. The mounts end with the
 * namespace: no host mount is made or changed.
 *
 * @module
 */
import { lxc6Root } from "../_helpers/lxc6_root.ts";
import { waitFor } from "../_helpers/wait_for.ts";

/** How long one command may run: a bound against a hang, far above any normal run. */
const COMMAND_MS = 120_000;
/** How long the namespace's holder process lives at most, should the test never dispose it. */
const HOLDER_SECONDS = 1800;
const PATH = "/usr/sbin:/usr/bin:/sbin:/bin";
const decoder = new TextDecoder();

async function exec(argv: readonly string[], env: Record<string, string> = {}): Promise<{ code: number; out: string }> {
  const r = await new Deno.Command(argv[0]!, {
    args: argv.slice(1),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { PATH, ...env },
    clearEnv: true,
    signal: AbortSignal.timeout(COMMAND_MS),
  }).output();
  return { code: r.code, out: decoder.decode(r.stdout) + decoder.decode(r.stderr) };
}

async function must(argv: readonly string[]): Promise<void> {
  const r = await exec(argv);
  if (r.code !== 0) throw new Error(`Cannot run ${argv.join(" ")}: exit ${r.code}: ${r.out.trim()}`);
}

/** LXC 6 in its own mount namespace; `await using` ends the namespace. */
export class Lxc6Host implements AsyncDisposable {
  /** The Debian 13 root whose LXC runs. */
  readonly root: string;
  readonly #holder: Deno.ChildProcess;

  private constructor(root: string, holder: Deno.ChildProcess) {
    this.root = root;
    this.#holder = holder;
  }

  /** Make the namespace and its mounts; throws when the cached root is missing. */
  static async open(): Promise<Lxc6Host> {
    const root = await lxc6Root();
    // unshare execs sleep in the new namespace, so the holder's pid names the namespace.
    const holder = new Deno.Command("unshare", {
      args: ["-m", "--propagation", "slave", "sleep", String(HOLDER_SECONDS)],
      stdin: "null",
      stdout: "null",
      stderr: "null",
      env: { PATH },
      clearEnv: true,
    }).spawn();
    const host = new Lxc6Host(root, holder);
    try {
      // Bounded: unshare needs a moment before /proc shows the holder in its own namespace.
      await waitFor("unshare to enter a mount namespace of its own", 2000, () => !host.#sameNamespace(), {
        everyMs: 20,
      });
      await host.#inside(["mount", "--bind", root, root]);
      await host.#inside(["mount", "--bind", "/proc", `${root}/proc`]);
      await host.#inside(["mount", "--rbind", "/sys", `${root}/sys`]);
      await host.#inside(["mount", "--rbind", "/dev", `${root}/dev`]);
      await host.#inside(["mount", "-t", "tmpfs", "tmpfs", `${root}/run`]);
      await host.#inside(["mount", "-t", "tmpfs", "tmpfs", `${root}/tmp`]);
    } catch (err) {
      await host[Symbol.asyncDispose]();
      throw err;
    }
    return host;
  }

  #sameNamespace(): boolean {
    try {
      return Deno.readLinkSync(`/proc/${this.#holder.pid}/ns/mnt`) === Deno.readLinkSync("/proc/self/ns/mnt");
    } catch {
      return true;
    }
  }

  #inside(argv: readonly string[]): Promise<void> {
    return must(["nsenter", "-t", String(this.#holder.pid), "-m", ...argv]);
  }

  /** Make a host directory (a container's LXC path) visible at the same path inside the root. */
  async bind(dir: string): Promise<void> {
    await this.#inside(["mkdir", "-p", `${this.root}${dir}`]);
    await this.#inside(["mount", "--bind", dir, `${this.root}${dir}`]);
  }

  /**
   * Run a command of the LXC 6 root (e.g. `lxc-start`) with only PATH and `env` set, bounded; never throws on a
   * non-zero exit.
   */
  run(argv: readonly string[], env: Record<string, string> = {}): Promise<{ code: number; out: string }> {
    return exec(["nsenter", "-t", String(this.#holder.pid), "-m", "chroot", this.root, ...argv], env);
  }

  /** `lxc-start --version` of the root, e.g. `6.0.4`. */
  async version(): Promise<string> {
    return (await this.run(["lxc-start", "--version"])).out.trim();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    try {
      this.#holder.kill("SIGKILL");
    } catch { /* already gone */ }
    await this.#holder.status;
  }
}
