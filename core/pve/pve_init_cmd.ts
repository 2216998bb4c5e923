/**
 * The container's command as a Proxmox VE config value.
 *
 * - PVE 9.1 has the `entrypoint` property; PVE writes it as `lxc.init.cmd`, and its LXC (6.0.5) splits that with
 *   `lxc_string_split_quoted`, so arguments with blanks are quoted.
 * - PVE 7, 8 and 9.0 take a raw `lxc.init.cmd` line. LXC 4 and 5 split it at spaces only, every LXC 6.0.x with quotes
 *   (core/lxc/quote_init_cmd.ts), and PVE 8 ships 5 or 6, so only what both splitters read alike is written as it is
 *   (for PVE 7 too: its upgrade brings LXC 6). A command that does not fit runs through the image's shell with a script
 *   that holds no blank and no quote at its start, so every splitter reads the same three words: `${IFS}` separates the
 *   words of `exec` (field splitting), and a space or tab inside an argument comes from `${IFS%??}` or `${IFS#?}` (the
 *   shell's default IFS is space, tab, newline). `exec` keeps the command's argv exactly.
 *
 * @module
 */
import { Oci2LxcError } from "../errors.ts";
import { checkConfigValue } from "../lxc/config_value.ts";
import { type InitCmdSplitter, quoteInitCmd } from "../lxc/quote_init_cmd.ts";
import type { ContainerPlan } from "../plan/container_plan.ts";
import { shellLauncherScript } from "../lxc/shell_launcher.ts";

/** The Proxmox VE versions the output is written for. */
export type PveVersion = "7" | "8" | "9.0" | "9.1";

/** The command line and where it goes. */
export interface PveInitCommand {
  /** `entrypoint` (PVE 9.1) or the raw `lxc.init.cmd`. */
  readonly key: "entrypoint" | "lxc.init.cmd";
  /** The value, before config-line encoding. */
  readonly value: string;
  /** Why the value looks the way it does, for comments. */
  readonly notes: readonly string[];
}

/**
 * The `lxc.init.cmd` splitter to quote for on each PVE version. PVE 7's LXC splits at spaces, but an upgrade to PVE 8
 * or 9 brings LXC 6, which splits a tab or a leading quote otherwise: PVE 7 gets only what both read alike.
 */
export function pveSplitter(version: PveVersion): InitCmdSplitter {
  return version === "9.1" ? "quoted" : "portable";
}

/**
 * The command for `plan` on Proxmox VE `version`, or `undefined` when LXC's default (`/sbin/init` of a system
 * container) is the command.
 *
 * @throws {Oci2LxcError} `config` when the command cannot be written for that version
 */
export function pveInitCommand(plan: ContainerPlan, version: PveVersion): PveInitCommand | undefined {
  const argv = plan.argv;
  if (argv.length === 0) {
    if (plan.kind === "system") return undefined;
    throw new Oci2LxcError("config", "Cannot write the container's command: it is empty", {
      hint: "Give a command with --cmd or --entrypoint",
    });
  }
  if (plan.kind === "system" && argv.length === 1 && argv[0] === "/sbin/init") return undefined;
  argv.forEach((arg, i) => checkConfigValue(arg, plan.argvSources[i] ?? `argument ${i}`));
  const splitter = pveSplitter(version);
  const key = version === "9.1" ? "entrypoint" : "lxc.init.cmd";
  try {
    return { key, value: quoteInitCmd(argv, { splitter, names: plan.argvSources }), notes: [] };
  } catch (err) {
    if (!(err instanceof Oci2LxcError) || splitter === "quoted") throw err;
    const script = plan.shell === undefined ? undefined : shellLauncherScript(argv);
    if (plan.shell === undefined || script === undefined) {
      throw new Oci2LxcError(err.code, err.message, {
        cause: err,
        hint: plan.shell === undefined
          ? `LXC on Proxmox VE ${version} splits lxc.init.cmd at blanks and the image has no /bin/sh to run the command through; give a command without such arguments (--entrypoint/--cmd), or target Proxmox VE 9.1 (--pve-version 9.1)`
          : err.hint ?? "",
      });
    }
    return {
      key,
      value: quoteInitCmd([plan.shell, "-c", script], { splitter }),
      notes: [
        `LXC on Proxmox VE ${version} splits lxc.init.cmd at blanks, so ${plan.shell} execs the command with exactly this argv:`,
        JSON.stringify(argv),
      ],
    };
  }
}
