/**
 * The container's command and what kind of container it makes, with Docker's semantics: `Entrypoint ++ Cmd`;
 * `--entrypoint` replaces the Entrypoint and clears the image's Cmd unless `--cmd` is given (Docker does this). No
 * command at all is an error unless the rootfs has an init, which then runs as a system container.
 *
 * A system container is one whose argv[0] is an init: /sbin/init, /usr/sbin/init, /bin/init, /usr/bin/init,
 * /lib/systemd/systemd, /usr/lib/systemd/systemd, /sbin/openrc-init, /usr/sbin/openrc-init and /init (s6-overlay).
 * These reap orphans and handle a halt signal themselves. tini, dumb-init and /docker-init are app-level helpers and
 * stay apps.
 *
 * @module
 */
import { Oci2LxcError } from "../errors.ts";
import { checkConfigValue } from "../lxc/config_value.ts";
import { cleanAbsolutePath } from "./clean_absolute_path.ts";
import type { ContainerKind, PlanField } from "./container_plan.ts";
import { fieldFate } from "./field_fate.ts";
import type { RootfsReader } from "./rootfs_reader.ts";
import { isStringArray, optionalField, type RuntimeConfig } from "./runtime_config.ts";

/** Inits that make a system container when they are argv[0]. */
const SYSTEM_INITS: readonly string[] = [
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

/** The caller's replacements for the image's command. */
export interface CommandOptions {
  /** `--entrypoint`: replaces the image's Entrypoint and clears its Cmd. */
  readonly entrypoint?: readonly string[] | undefined;
  /** `--cmd`: replaces the image's Cmd. */
  readonly cmd?: readonly string[] | undefined;
}

/** The planned command. */
export interface PlannedCommand {
  /** `system` when argv[0] is an init. */
  readonly kind: ContainerKind;
  /** Entrypoint then Cmd, or the rootfs's init. */
  readonly argv: string[];
  /** Where each argv element came from, for messages. */
  readonly argvSources: string[];
  /** Whether argv[0] is systemd. */
  readonly systemd: boolean;
  /** The fates of `Entrypoint` and `Cmd`. */
  readonly fields: readonly PlanField[];
}

/**
 * Plan the command from the image's Entrypoint and Cmd and the caller's replacements.
 *
 * @throws {Oci2LxcError} `config` when there is no command and no init, or an argument LXC cannot hold
 */
export function planCommand(
  rc: RuntimeConfig,
  options: CommandOptions,
  rootfs: RootfsReader,
  warn: (text: string) => void,
): PlannedCommand {
  const imageEntrypoint = optionalField(rc, "Entrypoint", isStringArray, "an array of strings or null");
  const imageCmd = optionalField(rc, "Cmd", isStringArray, "an array of strings or null");
  const entrypoint = options.entrypoint ?? imageEntrypoint ?? [];
  const cmd = options.cmd ?? (options.entrypoint !== undefined ? [] : imageCmd ?? []);
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
  const fields = commandFields(imageEntrypoint, imageCmd, options);

  if (argv.length === 0) {
    const init = INIT_SEARCH.find((p) => rootfs.exists(p));
    if (init === undefined) {
      throw new Oci2LxcError(
        "config",
        "Cannot plan the container: the image config has no Entrypoint or Cmd, and the rootfs has no init",
        { hint: "Say what to run with --cmd (or --entrypoint)" },
      );
    }
    argv.push(init);
    argvSources.push(`the rootfs's init ${init}`);
    warn(`the image has no command; running its init ${init} as a system container`);
  }
  const argv0 = argv[0]!;
  const kind: ContainerKind = SYSTEM_INITS.includes(cleanAbsolutePath(argv0) ?? argv0) ? "system" : "app";
  const real = rootfs.realPath?.(argv0);
  const systemd = kind === "system" && (SYSTEMD.has(argv0) || (real !== undefined && /\/systemd$/.test(real)));
  return { kind, argv, argvSources, systemd, fields };
}

function commandFields(
  imageEntrypoint: readonly string[] | undefined,
  imageCmd: readonly string[] | undefined,
  options: CommandOptions,
): PlanField[] {
  const to = "lxc.init.cmd";
  const imageCmdSet = imageCmd !== undefined && imageCmd.length > 0;
  return [
    fieldFate("Entrypoint", to, {
      overridden: options.entrypoint !== undefined ? "replaced by --entrypoint" : undefined,
      imageSet: imageEntrypoint !== undefined && imageEntrypoint.length > 0,
      defaulted: "not set",
    }),
    fieldFate("Cmd", to, {
      overridden: options.cmd !== undefined
        ? "replaced by --cmd"
        : options.entrypoint !== undefined && imageCmdSet
        ? "cleared because --entrypoint was given (as Docker does)"
        : undefined,
      imageSet: imageCmdSet,
      defaulted: "not set",
    }),
  ];
}
