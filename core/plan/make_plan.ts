/**
 * Image config → {@linkcode ContainerPlan}: Docker's semantics for the
 * command, environment, user and working directory, LXC's forms for the
 * rest, and a record of what happened to every field.
 *
 * Decisions (and why):
 * - Command: `Entrypoint ++ Cmd`. `--entrypoint` replaces the Entrypoint
 *   and clears the image's Cmd unless `--cmd` is given (Docker does this).
 *   No command at all is an error unless the rootfs has an init, which then
 *   runs as a system container.
 * - System container when argv[0] is an init: /sbin/init, /usr/sbin/init,
 *   /bin/init, /usr/bin/init, /lib/systemd/systemd, /usr/lib/systemd/systemd,
 *   /sbin/openrc-init, /usr/sbin/openrc-init and /init (s6-overlay). These
 *   reap orphans and handle a halt signal themselves. tini, dumb-init and
 *   /docker-init are app-level helpers and stay apps.
 * - Environment: PATH (Docker's default) and HOSTNAME first, then the
 *   image's Env, then `--env`, replacing in place; HOME from the user's
 *   passwd entry (`/` without one) when nothing set it. TERM is not set:
 *   Docker sets it only with a tty, and an app's output is a log here.
 * - User: resolved against the rootfs's /etc/passwd and /etc/group as runc
 *   does; an unknown name is an error (the OCI spec says so; Proxmox
 *   silently runs such images as root).
 * - WorkingDir: must be absolute (Docker refuses relative ones too); it is
 *   cleaned lexically; a missing one is created (LXC 5.0.2 refuses to start
 *   with a missing `lxc.init.cwd`).
 * - StopSignal: normalised to `SIG…`; default SIGTERM for apps (Docker),
 *   SIGRTMIN+3 for systemd, SIGTERM for /init (s6-overlay), SIGPWR (LXC's
 *   own default, which sysvinit and busybox init expect) for other inits.
 * - Volumes: directories in the rootfs (created root:root 0755 when
 *   missing, as Docker does; an existing one keeps its owner); a
 *   `--volume HOSTDIR:PATH[:ro]` bind-mounts a host directory there.
 *
 * @module
 */
import { Oci2LxcError } from "../errors.ts";
import type { ImageConfig } from "../image/image.ts";
import { formatPlatform, type Platform } from "../image/platform.ts";
import { checkConfigValue } from "../lxc/config_value.ts";
import { lxcArchFor } from "../lxc/lxc_arch.ts";
import { describeRanges, type IdMap, mapId } from "../rootfs/id_map.ts";
import type {
  ContainerKind,
  ContainerPlan,
  PlanDirectory,
  PlanField,
  PlanMount,
  PlanNetwork,
  PlanUser,
  PlanVolume,
} from "./container_plan.ts";
import { DEFAULT_PATH, EnvList } from "./plan_env.ts";
import { type GroupEntry, parseGroup, parsePasswd, type PasswdEntry, resolveUser } from "./resolve_user.ts";
import type { RootfsReader } from "./rootfs_reader.ts";
import { normaliseStopSignal } from "./stop_signal.ts";
import { checkContainerName } from "./container_name.ts";
import { hostnameFrom, isHostname } from "./hostname.ts";
import { parseNetSpecs } from "../network/net_spec.ts";

/** What the caller says on top of the image. */
export interface PlanOptions {
  /** The container name (`lxc-start -n`): letters, digits, `_.-`, up to 64. */
  name: string;
  /** The hostname; default: the name, made a valid hostname. */
  hostname?: string;
  /** Replaces the image's Entrypoint; clears its Cmd unless `cmd` is given. */
  entrypoint?: readonly string[];
  /** Replaces the image's Cmd. */
  cmd?: readonly string[];
  /** `NAME=value` sets, `NAME=` sets empty, `NAME` removes; applied after the image's Env. */
  env?: readonly string[];
  /** Replaces the image's User (`user`, `uid`, `user:group`, `uid:gid`). */
  user?: string;
  /** Replaces the image's WorkingDir. */
  workdir?: string;
  /** Replaces the image's StopSignal. */
  stopSignal?: string;
  /** `HOSTDIR:PATH[:ro|:rw]` bind mounts. */
  volumes?: readonly string[];
  /** The id map of an unprivileged container. */
  idmap?: IdMap;
  /** Network interfaces; default one `empty` (loopback only). */
  network?: readonly PlanNetwork[];
  /** `--net` specs (`name=eth0,link=br0,ip=dhcp`), parsed here once for every plugin and output format. */
  net?: readonly string[];
}

/** Inits that make a system container when they are argv[0]. */
export const SYSTEM_INITS: readonly string[] = [
  "/sbin/init",
  "/usr/sbin/init",
  "/bin/init",
  "/usr/bin/init",
  "/lib/systemd/systemd",
  "/usr/lib/systemd/systemd",
  "/sbin/openrc-init",
  "/usr/sbin/openrc-init",
  "/init",
];
/** Where to look for an init when the image has no command, in order. */
const INIT_SEARCH = [
  "/sbin/init",
  "/usr/sbin/init",
  "/lib/systemd/systemd",
  "/usr/lib/systemd/systemd",
  "/init",
];
const SYSTEMD = new Set(["/lib/systemd/systemd", "/usr/lib/systemd/systemd"]);
const MAX_UNKNOWN_FIELDS = 50;
const KNOWN_FIELDS = [
  "User",
  "Env",
  "Entrypoint",
  "Cmd",
  "WorkingDir",
  "StopSignal",
  "Volumes",
  "ExposedPorts",
  "Labels",
  "Healthcheck",
  "OnBuild",
  "Shell",
  "ArgsEscaped",
] as const;
const DROPPED: Readonly<Record<string, string>> = {
  ExposedPorts:
    "LXC publishes no ports; the container has its own network namespace, reachable on its own address once a network is configured",
  Labels: "image metadata, not container configuration",
  Healthcheck: "LXC has no health checks",
  OnBuild: "a build-time trigger for images built FROM this one",
  Shell: "used only by RUN and friends while building",
  ArgsEscaped: "a Windows-only flag; the argv is used as given",
};

/** Lexically clean an absolute path (`/a//b/../c/.` → `/a/c`); `undefined` if relative. */
export function cleanAbsolutePath(path: string): string | undefined {
  if (!path.startsWith("/")) return undefined;
  const out: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") out.pop();
    else out.push(part);
  }
  return "/" + out.join("/");
}

function isStringArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === "string");
}

function typeError(field: string, expected: string): Oci2LxcError {
  return new Oci2LxcError(
    "config",
    `Cannot use ${field} of the image config: expected ${expected}`,
    {
      hint: "The image config is malformed; rebuild the image",
    },
  );
}

/** Read an optional field of the runtime config with a type check; null counts as absent. */
function optional<T>(
  rc: Record<string, unknown>,
  field: string,
  check: (v: unknown) => v is T,
  expected: string,
): T | undefined {
  const v = rc[field];
  if (v === undefined || v === null) return undefined;
  if (!check(v)) throw typeError(field, expected);
  return v;
}

const isString = (v: unknown): v is string => typeof v === "string";
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function decode(bytes: Uint8Array | undefined): string | undefined {
  return bytes === undefined ? undefined : new TextDecoder().decode(bytes);
}

/**
 * Translate an image config into a {@linkcode ContainerPlan}.
 *
 * @param config the image's config document
 * @param platform the image's platform (for `lxc.arch`)
 * @param rootfs the assembled rootfs, read for passwd, group, init, /run and the shell
 * @param options the caller's overrides and the container name
 * @throws {Oci2LxcError} `config` when the image config cannot be represented, `usage` for bad options
 *
 * @example An app image
 * ```ts
 * import { makePlan } from "./make_plan.ts";
 * import { directoryRootfsReader } from "./rootfs_reader.ts";
 * const root = Deno.makeTempDirSync();
 * const plan = makePlan(
 *   { config: { Entrypoint: ["/bin/httpd"], Cmd: ["-f", "-p", "8080"], StopSignal: "QUIT" } },
 *   { os: "linux", architecture: "amd64" },
 *   directoryRootfsReader(root),
 *   { name: "web" },
 * );
 * console.assert(plan.kind === "app" && plan.argv.join(" ") === "/bin/httpd -f -p 8080");
 * console.assert(plan.stopSignal === "SIGQUIT" && plan.user.uid === 0 && plan.cwd === "/");
 * Deno.removeSync(root, { recursive: true });
 * ```
 */
export function makePlan(
  config: ImageConfig,
  platform: Platform,
  rootfs: RootfsReader,
  options: PlanOptions,
): ContainerPlan {
  if (platform.os !== "linux") {
    throw new Oci2LxcError(
      "config",
      `Cannot plan a container for a ${formatPlatform(platform)} image: LXC runs Linux images only`,
      {
        hint: "Choose a linux platform with --platform",
      },
    );
  }
  const rcValue: unknown = config.config ?? {};
  if (!isObject(rcValue)) throw typeError("config", "an object");
  const rc = rcValue;
  const warnings: string[] = [];
  const warn = (text: string) => warnings.push(text);
  const fields = new Map<string, PlanField>();
  const note = (f: PlanField) => fields.set(f.field, f);

  // Name and hostname.
  checkContainerName(options.name);
  const net = parseNetSpecs(options.net ?? []);
  let hostname = options.hostname ?? options.name;
  if (options.hostname !== undefined && !isHostname(options.hostname)) {
    throw new Oci2LxcError(
      "usage",
      `Cannot use hostname ${JSON.stringify(options.hostname)}: not a valid hostname`,
    );
  }
  if (!isHostname(hostname)) {
    hostname = hostnameFrom(options.name);
    warn(
      `The name "${options.name}" is not a valid hostname; the hostname is "${hostname}"`,
    );
  }

  // Command.
  const imageEntrypoint = optional(
    rc,
    "Entrypoint",
    isStringArray,
    "an array of strings or null",
  );
  const imageCmd = optional(
    rc,
    "Cmd",
    isStringArray,
    "an array of strings or null",
  );
  const entrypoint = options.entrypoint ?? imageEntrypoint ?? [];
  const cmd = options.cmd ??
    (options.entrypoint !== undefined ? [] : imageCmd ?? []);
  const argv = [...entrypoint, ...cmd];
  const argvSources = [
    ...entrypoint.map((_, i) =>
      options.entrypoint !== undefined ? `--entrypoint[${i}]` : `Entrypoint[${i}] of the image config`
    ),
    ...cmd.map((_, i) => options.cmd !== undefined ? `--cmd[${i}]` : `Cmd[${i}] of the image config`),
  ];
  argv.forEach((a, i) => {
    const source = argvSources[i]!;
    checkConfigValue(a, source, source.startsWith("--") ? "usage" : "config");
  });
  noteCommandFields(note, imageEntrypoint, imageCmd, options);

  let kind: ContainerKind = "app";
  if (argv.length === 0) {
    const init = INIT_SEARCH.find((p) => rootfs.exists(p));
    if (init === undefined) {
      throw new Oci2LxcError(
        "config",
        "Cannot plan the container: the image config has no Entrypoint or Cmd, and the rootfs has no init",
        {
          hint: "Say what to run with --cmd (or --entrypoint)",
        },
      );
    }
    argv.push(init);
    argvSources.push(`the rootfs's init ${init}`);
    warn(
      `The image has no command; running its init ${init} as a system container`,
    );
  }
  const argv0 = argv[0]!;
  if (SYSTEM_INITS.includes(cleanAbsolutePath(argv0) ?? argv0)) kind = "system";
  const real = rootfs.realPath?.(argv0);
  const systemd = kind === "system" &&
    (SYSTEMD.has(argv0) || (real !== undefined && /\/systemd$/.test(real)));

  // User.
  const imageUser = optional(rc, "User", isString, "a string");
  const userSpec = options.user ?? imageUser ?? "";
  const userWhat = options.user !== undefined ? "--user" : "User of the image config";
  checkConfigValue(
    userSpec,
    userWhat,
    options.user !== undefined ? "usage" : "config",
  );
  const passwd: PasswdEntry[] | undefined = mapText(
    rootfs.readFile("/etc/passwd"),
    parsePasswd,
  );
  const group: GroupEntry[] | undefined = mapText(
    rootfs.readFile("/etc/group"),
    parseGroup,
  );
  const resolved = resolveUser(userSpec, {
    passwd,
    group,
    what: userWhat,
    code: options.user !== undefined ? "usage" : "config",
  });
  const user: PlanUser = resolved;
  if (options.idmap) checkMapped(user, options.idmap, userSpec, userWhat);
  if (kind === "system" && user.uid !== 0) {
    warn(
      `The init ${argv0} runs as uid ${user.uid}, not root; most inits need root`,
    );
  }
  note(
    options.user !== undefined
      ? {
        field: "User",
        status: "overridden",
        to: "lxc.init.uid",
        reason: "replaced by --user",
      }
      : imageUser
      ? { field: "User", status: "mapped", to: "lxc.init.uid" }
      : {
        field: "User",
        status: "defaulted",
        to: "lxc.init.uid",
        reason: "not set: root",
      },
  );

  // Environment.
  const imageEnv = optional(rc, "Env", isStringArray, "an array of strings");
  const env = new EnvList();
  env.set("PATH", DEFAULT_PATH);
  env.set("HOSTNAME", hostname);
  env.apply(
    imageEnv ?? [],
    (i) => `Env[${i}] of the image config`,
    "config",
    warn,
  );
  env.apply(options.env ?? [], (i) => `--env[${i}]`, "usage", warn);
  if (!env.has("HOME")) env.set("HOME", user.home);
  for (const [name, value] of env.entries()) {
    checkConfigValue(`${name}=${value}`, `the environment variable ${name}`);
  }
  note(
    imageEnv && imageEnv.length > 0
      ? {
        field: "Env",
        status: "mapped",
        to: "lxc.environment",
        ...(options.env?.length ? { reason: "merged with --env" } : {}),
      }
      : {
        field: "Env",
        status: "defaulted",
        to: "lxc.environment",
        reason: "not set: PATH, HOSTNAME and HOME defaults",
      },
  );

  // Working directory.
  const imageWorkdir = optional(rc, "WorkingDir", isString, "a string");
  const workdirText = options.workdir ?? (imageWorkdir || "/");
  const workdirWhat = options.workdir !== undefined ? "--workdir" : "WorkingDir of the image config";
  const workdirCode = options.workdir !== undefined ? "usage" : "config";
  checkConfigValue(workdirText, workdirWhat, workdirCode);
  const cwd = cleanAbsolutePath(workdirText);
  if (cwd === undefined) {
    throw new Oci2LxcError(
      workdirCode,
      `Cannot use ${workdirWhat} ${JSON.stringify(workdirText)}: it is not an absolute path`,
      {
        hint: "Give an absolute working directory with --workdir",
      },
    );
  }
  const directories: PlanDirectory[] = [];
  if (!rootfs.exists(cwd)) {
    directories.push({
      path: cwd,
      uid: 0,
      gid: 0,
      mode: 0o755,
      reason: "WorkingDir",
    });
  } else if (rootfs.isDirEmpty(cwd) === undefined) {
    throw new Oci2LxcError(
      workdirCode,
      `Cannot use ${workdirWhat} "${cwd}": it is not a directory in the rootfs`,
    );
  }
  note(
    options.workdir !== undefined
      ? {
        field: "WorkingDir",
        status: "overridden",
        to: "lxc.init.cwd",
        reason: "replaced by --workdir",
      }
      : imageWorkdir
      ? { field: "WorkingDir", status: "mapped", to: "lxc.init.cwd" }
      : {
        field: "WorkingDir",
        status: "defaulted",
        to: "lxc.init.cwd",
        reason: "not set: /",
      },
  );

  // Stop signal.
  const imageSignal = optional(rc, "StopSignal", isString, "a string");
  const signalText = options.stopSignal ?? (imageSignal || undefined);
  let stopSignal: string;
  const defaultSignal = kind === "app" ? "SIGTERM" : systemd ? "SIGRTMIN+3" : argv0 === "/init" ? "SIGTERM" : "SIGPWR";
  if (signalText !== undefined) {
    const what = options.stopSignal !== undefined ? "--stop-signal" : "StopSignal of the image config";
    const code = options.stopSignal !== undefined ? "usage" : "config";
    checkConfigValue(signalText, what, code);
    const normal = normaliseStopSignal(signalText);
    if (normal === undefined) {
      throw new Oci2LxcError(
        code,
        `Cannot use ${what} ${JSON.stringify(signalText)}: not a signal name or number`,
        {
          hint: "Use a name such as SIGTERM, SIGQUIT or SIGRTMIN+3, or a number",
        },
      );
    }
    stopSignal = normal;
  } else {
    stopSignal = defaultSignal;
  }
  note(
    options.stopSignal !== undefined
      ? {
        field: "StopSignal",
        status: "overridden",
        to: "lxc.signal.halt",
        reason: "replaced by --stop-signal",
      }
      : imageSignal
      ? { field: "StopSignal", status: "mapped", to: "lxc.signal.halt" }
      : {
        field: "StopSignal",
        status: "defaulted",
        to: "lxc.signal.halt",
        reason: `not set: ${defaultSignal}`,
      },
  );

  // Volumes and bind mounts.
  const mounts = parseVolumeOptions(options.volumes ?? []);
  const imageVolumes = optional(rc, "Volumes", isObject, "an object");
  const volumes: PlanVolume[] = [];
  for (const key of Object.keys(imageVolumes ?? {})) {
    const what = `Volumes key ${JSON.stringify(key)} of the image config`;
    checkConfigValue(key, what);
    const path = cleanAbsolutePath(key);
    if (path === undefined || path === "/") {
      throw new Oci2LxcError(
        "config",
        `Cannot use ${what}: not an absolute path below /`,
      );
    }
    if (volumes.some((v) => v.path === path)) continue;
    const exists = rootfs.exists(path);
    if (exists && rootfs.isDirEmpty(path) === undefined) {
      warn(`Ignored the volume ${path}: it is not a directory in the rootfs`);
      continue;
    }
    const bound = mounts.some((m) => m.target === path);
    volumes.push({ path, exists, bound });
    if (!exists && !directories.some((d) => d.path === path)) {
      directories.push({
        path,
        uid: 0,
        gid: 0,
        mode: 0o755,
        reason: "Volumes",
      });
    }
  }
  const unbound = volumes.filter((v) => !v.bound).map((v) => v.path);
  if (unbound.length > 0) {
    warn(
      `The volume${unbound.length > 1 ? "s" : ""} ${unbound.join(", ")} stay${
        unbound.length > 1 ? "" : "s"
      } in the rootfs; bind a host directory with --volume HOSTDIR:PATH to keep data apart`,
    );
  }
  note(
    imageVolumes && Object.keys(imageVolumes).length > 0
      ? {
        field: "Volumes",
        status: "mapped",
        ...(volumes.some((v) => v.bound) ? { to: "lxc.mount.entry" } : {}),
        reason: "directories in the rootfs; bound to host directories where --volume says so",
      }
      : { field: "Volumes", status: "defaulted", reason: "not set" },
  );

  // Fields LXC has no place for, and unknown keys.
  for (const field of Object.keys(DROPPED)) {
    const v = rc[field];
    const present = v !== undefined && v !== null;
    if (!present) {
      note({ field, status: "defaulted", reason: "not set" });
      continue;
    }
    let reason = DROPPED[field]!;
    if (field === "Labels" && isObject(v)) {
      const n = Object.keys(v).length;
      reason = `${n} label${n === 1 ? "" : "s"}: ${reason}`;
    }
    if (field === "ArgsEscaped" && v === false) reason = "false; nothing to do";
    note({ field, status: "dropped", reason });
  }
  const unknown = Object.keys(rc).filter((k) => !(KNOWN_FIELDS as readonly string[]).includes(k));
  for (const key of unknown.slice(0, MAX_UNKNOWN_FIELDS)) {
    note({
      field: key,
      status: "dropped",
      reason: "not a field of the OCI image config",
    });
  }
  if (unknown.length > MAX_UNKNOWN_FIELDS) {
    warn(
      `The image config has ${unknown.length} unknown fields; the report lists the first ${MAX_UNKNOWN_FIELDS}`,
    );
  }

  // Architecture, /run, shell.
  const arch = lxcArchFor(platform);
  if (arch === undefined) {
    warn(
      `LXC has no arch name for ${formatPlatform(platform)}; lxc.arch is left out, so the host's is used`,
    );
  }
  const runEmpty = rootfs.isDirEmpty("/run");
  const runTmpfs = kind === "app" &&
    (runEmpty === true || (runEmpty === undefined && !rootfs.exists("/run")));
  const shell = ["/bin/sh"].find((p) => rootfs.exists(p) && rootfs.isDirEmpty(p) === undefined);

  const ordered: PlanField[] = [];
  for (const f of KNOWN_FIELDS) ordered.push(fields.get(f)!);
  for (const key of unknown.slice(0, MAX_UNKNOWN_FIELDS)) {
    ordered.push(fields.get(key)!);
  }

  return {
    kind,
    argv,
    argvSources,
    env: env.entries(),
    user,
    cwd,
    stopSignal,
    systemd,
    volumes,
    directories,
    mounts,
    arch,
    name: options.name,
    hostname,
    idmap: options.idmap,
    network: options.network ?? [{ type: "empty", keys: [] }],
    net,
    runTmpfs,
    shell,
    fields: ordered,
    warnings,
  };
}

function mapText<T>(
  bytes: Uint8Array | undefined,
  parse: (text: string) => T,
): T | undefined {
  const text = decode(bytes);
  return text === undefined ? undefined : parse(text);
}

function noteCommandFields(
  note: (f: PlanField) => void,
  imageEntrypoint: readonly string[] | undefined,
  imageCmd: readonly string[] | undefined,
  options: PlanOptions,
): void {
  const to = "lxc.init.cmd";
  if (options.entrypoint !== undefined) {
    note({
      field: "Entrypoint",
      status: "overridden",
      to,
      reason: "replaced by --entrypoint",
    });
  } else if (imageEntrypoint && imageEntrypoint.length > 0) {
    note({ field: "Entrypoint", status: "mapped", to });
  } else {
    note({ field: "Entrypoint", status: "defaulted", to, reason: "not set" });
  }
  if (options.cmd !== undefined) {
    note({
      field: "Cmd",
      status: "overridden",
      to,
      reason: "replaced by --cmd",
    });
  } else if (
    options.entrypoint !== undefined && imageCmd && imageCmd.length > 0
  ) {
    note({
      field: "Cmd",
      status: "overridden",
      to,
      reason: "cleared because --entrypoint was given (as Docker does)",
    });
  } else if (imageCmd && imageCmd.length > 0) {
    note({ field: "Cmd", status: "mapped", to });
  } else {
    note({ field: "Cmd", status: "defaulted", to, reason: "not set" });
  }
}

function checkMapped(
  user: PlanUser,
  idmap: IdMap,
  spec: string,
  what: string,
): void {
  const outside = (kind: string, id: number, ranges: IdMap["uid"]) =>
    new Oci2LxcError(
      "config",
      `Cannot use ${what} "${spec}": ${kind} ${id} is outside the container's ID map (${describeRanges(ranges)})`,
      {
        hint: "Widen the ID map or choose another user with --user",
      },
    );
  if (mapId(idmap.uid, user.uid) === undefined) {
    throw outside("uid", user.uid, idmap.uid);
  }
  for (const gid of [user.gid, ...user.groups]) {
    if (mapId(idmap.gid, gid) === undefined) {
      throw outside("gid", gid, idmap.gid);
    }
  }
}

/** Parse `--volume HOSTDIR:PATH[:ro|:rw]` options; parents are mounted before children. */
function parseVolumeOptions(specs: readonly string[]): PlanMount[] {
  const mounts: PlanMount[] = [];
  specs.forEach((spec, i) => {
    const what = `--volume[${i}] ${JSON.stringify(spec)}`;
    checkConfigValue(spec, `--volume[${i}]`, "usage");
    const parts = spec.split(":");
    const mode = parts.length === 3 ? parts[2] : "rw";
    const source = parts[0] ?? "";
    const target = cleanAbsolutePath(parts[1] ?? "");
    if (
      parts.length < 2 || parts.length > 3 || (mode !== "ro" && mode !== "rw")
    ) {
      throw new Oci2LxcError(
        "usage",
        `Cannot use ${what}: expected HOSTDIR:PATH or HOSTDIR:PATH:ro`,
      );
    }
    if (!source.startsWith("/")) {
      throw new Oci2LxcError(
        "usage",
        `Cannot use ${what}: HOSTDIR must be an absolute path`,
      );
    }
    if (target === undefined || target === "/") {
      throw new Oci2LxcError(
        "usage",
        `Cannot use ${what}: PATH must be an absolute path below /`,
      );
    }
    if (mounts.some((m) => m.target === target)) {
      throw new Oci2LxcError(
        "usage",
        `Cannot use ${what}: another --volume already mounts ${target}`,
      );
    }
    mounts.push({
      source: cleanAbsolutePath(source)!,
      target,
      readOnly: mode === "ro",
    });
  });
  const depth = (p: string) => p.split("/").length;
  return mounts.map((m, i) => ({ m, i })).sort((a, b) => depth(a.m.target) - depth(b.m.target) || a.i - b.i).map((x) =>
    x.m
  );
}
