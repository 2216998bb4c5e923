/**
 * Image config → {@linkcode ContainerPlan}: Docker's semantics for the command, environment, user and working
 * directory, LXC's forms for the rest, and a record of what happened to every field. Each field's rules live in its own
 * file beside this one (`plan_command.ts`, `plan_user.ts`, `plan_env.ts`, `plan_workdir.ts`, `plan_stop_signal.ts`,
 * `plan_volumes.ts`, `config_fields.ts`); this one runs them in the order their inputs need.
 *
 * @module
 */
import { Oci2LxcError } from "../errors.ts";
import type { ImageConfig } from "../image/image.ts";
import { formatPlatform, type Platform } from "../image/platform.ts";
import { lxcArchFor } from "../lxc/lxc_arch.ts";
import type { IdMap } from "../rootfs/id_map.ts";
import { orderedFields } from "./config_fields.ts";
import type { NetSpec } from "../network/net_spec.ts";
import { planHostname } from "./container_name.ts";
import type { ContainerPlan, PlanNetwork } from "./container_plan.ts";
import { planCommand } from "./plan_command.ts";
import { planEnv } from "./plan_env.ts";
import { planStopSignal } from "./plan_stop_signal.ts";
import { planUser } from "./plan_user.ts";
import { planVolumes } from "./plan_volumes.ts";
import { planWorkdir } from "./plan_workdir.ts";
import type { RootfsReader } from "./rootfs_reader.ts";
import { runtimeConfig } from "./runtime_config.ts";

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
  /** `--net` specs, parsed once (`parseNetSpecs`) before anything: for every plugin and output format. */
  net?: readonly NetSpec[];
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
 * import assert from "node:assert/strict";
 * import { makePlan } from "./make_plan.ts";
 * import { directoryRootfsReader } from "./rootfs_reader.ts";
 * const root = Deno.makeTempDirSync();
 * const plan = makePlan(
 *   { config: { Entrypoint: ["/bin/httpd"], Cmd: ["-f", "-p", "8080"], StopSignal: "QUIT" } },
 *   { os: "linux", architecture: "amd64" },
 *   directoryRootfsReader(root),
 *   { name: "web" },
 * );
 * assert(plan.kind === "app" && plan.argv.join(" ") === "/bin/httpd -f -p 8080");
 * assert(plan.stopSignal === "SIGQUIT" && plan.user.uid === 0 && plan.cwd === "/");
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
      { hint: "Choose a linux platform with --platform" },
    );
  }
  const rc = runtimeConfig(config);
  const warnings: string[] = [];
  const warn = (text: string) => warnings.push(text);

  const hostname = planHostname(options.name, options.hostname, warn);
  const command = planCommand(rc, options, rootfs, warn);
  const { user, field: userField } = planUser(rc, options.user, options.idmap, rootfs);
  if (command.kind === "system" && user.uid !== 0) {
    warn(`the init ${command.argv[0]} runs as uid ${user.uid}, not root; most inits need root`);
  }
  const { env, field: envField } = planEnv(rc, { hostname, home: user.home, env: options.env }, warn);
  const workdir = planWorkdir(rc, options.workdir, rootfs);
  const signal = planStopSignal(rc, options.stopSignal, command);
  const planned = workdir.directory === undefined ? [] : [workdir.directory];
  const volumes = planVolumes(rc, options.volumes ?? [], rootfs, planned, warn);
  const fields = orderedFields(
    rc,
    [...command.fields, userField, envField, workdir.field, signal.field, volumes.field],
    warn,
  );

  const arch = lxcArchFor(platform);
  if (arch === undefined) {
    warn(`LXC has no arch name for ${formatPlatform(platform)}; lxc.arch is left out, so the host's is used`);
  }
  const runEmpty = rootfs.isDirEmpty("/run");
  const runTmpfs = command.kind === "app" && (runEmpty === true || (runEmpty === undefined && !rootfs.exists("/run")));
  const shell = ["/bin/sh"].find((p) => rootfs.exists(p) && rootfs.isDirEmpty(p) === undefined);

  return {
    kind: command.kind,
    argv: command.argv,
    argvSources: command.argvSources,
    env,
    user,
    cwd: workdir.cwd,
    stopSignal: signal.stopSignal,
    systemd: command.systemd,
    volumes: volumes.volumes,
    directories: [...planned, ...volumes.directories],
    mounts: volumes.mounts,
    arch,
    name: options.name,
    hostname,
    idmap: options.idmap,
    network: options.network ?? [{ type: "empty", keys: [] }],
    net: options.net ?? [],
    runTmpfs,
    shell,
    fields,
    warnings,
  };
}
