/**
 * {@linkcode ContainerPlan} → LXC config text. Every line goes through {@linkcode LxcConfigWriter}, which
 * validates values, so nothing in a plan can add a line.
 *
 * Decisions (checked on LXC 5.0.2 unless said otherwise):
 * - App containers get LXC's own static init (`init.lxc.static`, bind-mounted from the host at /.lxcinit) as PID 1,
 *   which reaps zombies and forwards signals, except that it answers SIGTERM and SIGPWR by signalling every process and
 *   killing them all 1 s later. So with `pid1: "auto"` (the default) an app whose stop signal is SIGTERM or SIGPWR runs
 *   as PID 1 itself (Docker's default without `--init`) and gets LXC's whole stop timeout; any other stop signal
 *   (SIGQUIT, SIGINT, …) goes through init.lxc, which forwards it and waits.
 * - System containers run the image's init directly.
 * - `lxc.init.uid`, `lxc.init.gid`, `lxc.init.groups` (LXC 5.0.2 has it, comma-separated) and `lxc.init.cwd` (must
 *   exist: 5.0.2 does not create it; the plan lists it in `directories`).
 * - Environment: `lxc.environment` by default; LXC 5.0.2 has no `lxc.environment.runtime` and passes `lxc.environment`
 *   to pre-mount and mount hooks too, so values are checked by `checkEnvForHostHooks`. `environmentKey:
 *   "lxc.environment.runtime"` for LXC 7.0.0+ and Proxmox's lxc-pve 6.0.5-3+ (see `environmentKeyFor` in
 *   lxc_version.ts).
 * - `lxc.include` of common.conf (and userns.conf when id-mapped) only when the file exists on this host: LXC refuses a
 *   config whose include is missing. The config is written on the host that runs it, usually.
 * - Networking: `lxc.net.0.type = empty` (loopback only) unless the plan says otherwise; app containers with their own
 *   network namespace get `ip_unprivileged_port_start = 0` and `ping_group_range` (as Docker and Incus do), so non-root
 *   apps can bind low ports and ping.
 * - /dev/shm is a tmpfs for apps (mode 1777); /run is a tmpfs for apps when the image's /run is missing or empty
 *   (Incus's rule).
 *
 * @module
 */
import { Oci2LxcError } from "../errors.ts";
import type { ContainerPlan } from "../plan/container_plan.ts";
import { checkContainerName } from "../plan/container_name.ts";
import { checkConfigValue } from "./config_value.ts";
import { checkEnvForHostHooks } from "./host_hook_env.ts";
import { LxcConfigWriter } from "./lxc_config_writer.ts";
import { initCmdSplitterFor, type LxcVersion, parseLxcVersion } from "./lxc_version.ts";
import { mountEntry } from "./mount_entry.ts";
import { type InitCmdSplitter, quoteInitCmd } from "./quote_init_cmd.ts";
import { shellLauncherScript } from "./shell_launcher.ts";
import { pathExists } from "../path_exists.ts";

/** Where init.lxc.static is bind-mounted inside the container. */
export const INIT_TARGET = "/.lxcinit";
/** Debian's path of LXC's static init on the host. */
export const DEFAULT_INIT_PATH = "/usr/sbin/init.lxc.static";
/** Where LXC's shared config snippets live on Debian and most distributions. */
export const DEFAULT_CONFIG_DIR = "/usr/share/lxc/config";

/** Options for {@linkcode renderLxcConfig}. */
export interface LxcConfigOptions {
  /** The rootfs directory on the host (absolute). */
  rootfsPath: string;
  /** The container name, used for `init.lxc -n`; default: the plan's. */
  name?: string;
  /** The LXC version that will run the config (`"5.0.2"` or parsed); decides the init.cmd splitter. */
  lxcVersion?: string | LxcVersion;
  /** Override the splitter chosen from the version. */
  splitter?: InitCmdSplitter;
  /** Host path of init.lxc.static; default {@linkcode DEFAULT_INIT_PATH}. */
  initPath?: string;
  /** PID 1 of an app container; see the module notes. Default `auto`. */
  pid1?: "auto" | "lxc-init" | "app";
  /** Which key carries the environment; default `lxc.environment`. */
  environmentKey?: "lxc.environment" | "lxc.environment.runtime";
  /** On LXC 5, run a command LXC cannot split through the image's /bin/sh; default true. */
  shellFallback?: boolean;
  /** Directory of common.conf and userns.conf; default {@linkcode DEFAULT_CONFIG_DIR}. */
  configDir?: string;
  /** Whether a host file exists; default: stat it. Tests pass a fixed answer. */
  fileExists?: (path: string) => boolean;
  /** Receives findings worth telling the user. */
  onWarning?: (text: string) => void;
  /** Extra comment lines for the top (image reference, digest). */
  header?: readonly string[];
}

/** The init command line and the notes that explain it. */
interface InitCommand {
  readonly value: string;
  readonly notes: readonly string[];
}

/**
 * The `lxc.init.cmd` value, tried in this order so that the config means the same argv under LXC 5 and LXC 6 whenever
 * it can:
 * 1. the argv as it is, when every LXC splits it back alike (`"portable"`);
 * 2. the image's shell running the launcher script, which every LXC splits into the same three words;
 * 3. the target's own quoting (`splitter`: LXC 6's quotes), noted in the config as read right by that LXC only;
 *    `"portable"` has no third way.
 */
function buildInitCommand(
  plan: ContainerPlan,
  name: string,
  useLxcInit: boolean,
  splitter: InitCmdSplitter,
  shellFallback: boolean,
): InitCommand {
  const prefix = useLxcInit ? [INIT_TARGET, "-n", name, "--"] : [];
  const names = [...prefix.map(() => undefined), ...plan.argvSources];
  // A line break or control character is never taken, whichever way is used; say which field holds it.
  plan.argv.forEach((arg, i) => checkConfigValue(arg, plan.argvSources[i] ?? `argument ${i}`));
  let portableError: Oci2LxcError;
  try {
    return { value: quoteInitCmd([...prefix, ...plan.argv], { splitter: "portable", names }), notes: [] };
  } catch (err) {
    if (!(err instanceof Oci2LxcError)) throw err;
    portableError = err;
  }
  const script = shellFallback && plan.shell !== undefined ? shellLauncherScript(plan.argv) : undefined;
  if (plan.shell !== undefined && script !== undefined) {
    return {
      value: quoteInitCmd([...prefix, plan.shell, "-c", script], { splitter: "portable" }),
      notes: [
        `LXC 5 splits lxc.init.cmd at spaces and LXC 6 at blanks with quotes, so ${plan.shell} execs the command with exactly this argv:`,
        JSON.stringify(plan.argv),
      ],
    };
  }
  if (splitter !== "portable") {
    const only = splitter === "quoted" ? "LXC 6 and later" : "LXC 5";
    return {
      value: quoteInitCmd([...prefix, ...plan.argv], { splitter, names }),
      notes: [`This lxc.init.cmd is quoted for ${only}; another LXC version splits it into another argv:`].concat(
        JSON.stringify(plan.argv),
      ),
    };
  }
  throw new Oci2LxcError(portableError.code, portableError.message, {
    cause: portableError,
    hint: plan.shell === undefined
      ? "LXC 5 and LXC 6 split this argv differently and the image has no /bin/sh to run it through; give a command without blanks, leading quotes or empty arguments (--entrypoint/--cmd), or convert for LXC 6 only (--lxc-version 6.0.4)"
      : 'Give a command whose first word does not start with "-" (--entrypoint/--cmd)',
  });
}

/**
 * Render the LXC config for `plan`.
 *
 * @throws {Oci2LxcError} `config` when a value cannot be represented (an argument LXC cannot split back, an environment
 *   value unsafe for host hooks)
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { renderLxcConfig } from "./lxc_config.ts";
 * import { makePlan } from "../plan/make_plan.ts";
 * import { directoryRootfsReader } from "../plan/rootfs_reader.ts";
 * const root = Deno.makeTempDirSync();
 * const plan = makePlan({ config: { Cmd: ["/bin/httpd", "-f"], StopSignal: "SIGQUIT" } },
 *   { os: "linux", architecture: "amd64" }, directoryRootfsReader(root), { name: "web" });
 * const text = renderLxcConfig(plan, { rootfsPath: "/var/lib/lxc/web/rootfs", lxcVersion: "5.0.2" });
 * assert(text.includes("lxc.init.cmd = /.lxcinit -n web -- /bin/httpd -f\n"));
 * Deno.removeSync(root, { recursive: true });
 * ```
 */
export function renderLxcConfig(
  plan: ContainerPlan,
  options: LxcConfigOptions,
): string {
  const name = options.name ?? plan.name;
  const version = typeof options.lxcVersion === "string" ? parseLxcVersion(options.lxcVersion) : options.lxcVersion;
  const splitter = options.splitter ?? initCmdSplitterFor(version);
  const exists = options.fileExists ?? ((path: string) => pathExists(path));
  const warn = options.onWarning ?? (() => {});
  const configDir = options.configDir ?? DEFAULT_CONFIG_DIR;
  const envKey = options.environmentKey ?? "lxc.environment";
  const initPath = options.initPath ?? DEFAULT_INIT_PATH;
  checkContainerName(name);
  if (
    !options.rootfsPath.startsWith("/") ||
    options.rootfsPath.replace(/\/+$/, "") === ""
  ) {
    throw new Oci2LxcError(
      "usage",
      `Cannot use rootfs path ${JSON.stringify(options.rootfsPath)}: it must be an absolute directory below /`,
    );
  }
  // Upstream has the key from 7.0.0, Proxmox's lxc-pve from 6.0.5-3: no LXC before 6.0.5 takes it.
  const before605 = version !== undefined &&
    (version.major < 6 || (version.major === 6 && version.minor === 0 && version.patch < 5));
  if (envKey === "lxc.environment.runtime" && before605) {
    throw new Oci2LxcError(
      "usage",
      `Cannot write lxc.environment.runtime for LXC ${version.major}.${version.minor}.${version.patch}: only LXC 7.0.0 and Proxmox's lxc-pve 6.0.5-3 have that key`,
      {
        hint: "Use lxc.environment (environmentKey), or give the LXC version that will run the config (--lxc-version)",
      },
    );
  }
  const isApp = plan.kind === "app";
  const pid1 = options.pid1 ?? "auto";
  const useLxcInit = isApp &&
    (pid1 === "lxc-init" ||
      (pid1 === "auto" && plan.stopSignal !== "SIGTERM" &&
        plan.stopSignal !== "SIGPWR"));
  const ownNetns = plan.network.length > 0 &&
    plan.network.every((n) => n.type !== "none");

  const w = new LxcConfigWriter();
  w.comment(`LXC config for ${name}, written by oci2lxc`);
  for (const line of options.header ?? []) w.comment(line);
  w.comment(
    isApp
      ? useLxcInit
        ? `Application container: LXC's init (${INIT_TARGET}) is PID 1 and runs the image's command`
        : "Application container: the image's command is PID 1"
      : `System container: the image's init ${plan.argv[0]} is PID 1`,
  );
  const notable = plan.fields.filter((f) => f.status === "dropped" || f.status === "overridden");
  if (notable.length > 0) {
    w.comment("Image config fields not taken as they are:");
    for (const f of notable) {
      w.comment(`  ${f.field}: ${f.status}${f.reason ? ` (${f.reason})` : ""}`);
    }
  }
  w.blank();

  for (const file of ["common.conf", ...(plan.idmap ? ["userns.conf"] : [])]) {
    const path = `${configDir}/${file}`;
    if (exists(path)) {
      w.entry("lxc.include", path);
    } else {
      w.comment(`${path} is not on this host, so it is not included`);
      warn(`${path} is not on this host; the config does not include it`);
    }
  }
  if (plan.arch !== undefined) w.entry("lxc.arch", plan.arch);
  w.entry("lxc.uts.name", plan.hostname);
  w.entry("lxc.rootfs.path", `dir:${options.rootfsPath}`, "the rootfs path");
  for (
    const [type, ranges] of [["u", plan.idmap?.uid ?? []], [
      "g",
      plan.idmap?.gid ?? [],
    ]] as const
  ) {
    for (const r of ranges) {
      w.entry("lxc.idmap", `${type} ${r.container} ${r.host} ${r.size}`);
    }
  }
  w.blank();

  plan.network.forEach((net, i) => {
    w.entry(`lxc.net.${i}.type`, net.type);
    for (const [key, value] of net.keys) w.entry(`lxc.net.${i}.${key}`, value);
  });
  if (isApp && ownNetns) {
    w.entry("lxc.sysctl.net.ipv4.ip_unprivileged_port_start", 0);
    const gids = plan.idmap?.gid;
    const ping = gids && gids.length > 0
      ? `${Math.min(...gids.map((r) => r.container))} ${Math.max(...gids.map((r) => r.container + r.size - 1))}`
      : "0 2147483647";
    w.entry("lxc.sysctl.net.ipv4.ping_group_range", ping);
  }
  w.blank();

  if (useLxcInit) {
    if (!exists(initPath)) {
      warn(
        `${initPath} is not on this host; the container needs it to start here`,
      );
    }
    w.entry(
      "lxc.mount.entry",
      mountEntry(initPath, INIT_TARGET, "none", "bind,create=file,ro"),
      "the init path",
    );
  }
  if (isApp) {
    w.entry(
      "lxc.mount.entry",
      mountEntry(
        "tmpfs",
        "/dev/shm",
        "tmpfs",
        "rw,nosuid,nodev,noexec,mode=1777,create=dir",
      ),
    );
    if (plan.runTmpfs) {
      w.entry(
        "lxc.mount.entry",
        mountEntry(
          "tmpfs",
          "/run",
          "tmpfs",
          "rw,nosuid,nodev,mode=755,create=dir",
        ),
      );
    }
  }
  for (const m of plan.mounts) {
    w.entry(
      "lxc.mount.entry",
      mountEntry(
        m.source,
        m.target,
        "none",
        `bind,create=dir${m.readOnly ? ",ro" : ""}`,
      ),
      `the volume ${m.source}:${m.target}`,
    );
  }
  w.blank();

  const init = buildInitCommand(
    plan,
    name,
    useLxcInit,
    splitter,
    options.shellFallback ?? true,
  );
  for (const note of init.notes) w.comment(note);
  for (const note of init.notes.slice(0, 1)) warn(note.replace(/:$/, ""));
  w.entry("lxc.init.cmd", init.value);
  w.entry("lxc.init.uid", plan.user.uid);
  w.entry("lxc.init.gid", plan.user.gid);
  if (plan.user.groups.length > 0) {
    w.entry("lxc.init.groups", plan.user.groups.join(","));
  }
  w.entry("lxc.init.cwd", plan.cwd);
  if (envKey === "lxc.environment") {
    checkEnvForHostHooks(plan.env, {
      rootfsPath: options.rootfsPath,
      mountSources: plan.mounts.map((m) => m.source),
    });
    // Checked on 5.0.2: with PATH=/custom, lxcfs's mount hook exits 127 and the container does not start.
    const path = plan.env.find(([k]) => k === "PATH")?.[1];
    if (
      path !== undefined &&
      !path.split(":").some((d) => d === "/bin" || d === "/usr/bin")
    ) {
      warn(
        `PATH (${path}) has neither /bin nor /usr/bin; LXC 5 also gives it to host hooks (such as lxcfs's), which may then fail`,
      );
    }
  }
  for (const [key, value] of plan.env) {
    w.entry(envKey, `${key}=${value}`, `the environment variable ${key}`);
  }
  w.entry("lxc.signal.halt", plan.stopSignal);
  return w.toString();
}
