/**
 * The command line: pick the command, parse its arguments, run it, and turn
 * every failure into one `error:` line and a documented exit code.
 *
 * @module
 */
import type { ConversionContext } from "../core/conversion.ts";
import { Oci2LxcError } from "../core/errors.ts";
import { type Plugin, validatePlugin } from "../core/plugin.ts";
import { versionLine } from "./version_command.ts";
import { type Command, commandHelp, parseCommandArgs, shortUsage } from "./commands.ts";
import { convertCommand } from "./convert_command.ts";
import { hookCommand } from "./hook_command.ts";
import { inspectCommand } from "./inspect_command.ts";
import { pluginsCommand } from "./plugins_command.ts";
import { versionCommand } from "./version_command.ts";
import { printErr, printOut, reportError } from "./output.ts";
import { verifyCommand } from "./verify_command.ts";

/** Every command, in the order `--help` lists them. */
export const COMMANDS: Command[] = [
  convertCommand,
  inspectCommand,
  verifyCommand,
  pluginsCommand,
  versionCommand,
  hookCommand,
];

/** Register further commands (convert, plugins, hook) from their own modules. */
export function addCommand(command: Command): void {
  COMMANDS.push(command);
}

function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    "oci2lxc: turn an OCI container image into an LXC container that starts",
    "",
    "Usage: oci2lxc COMMAND [OPTIONS] [ARGS]",
    "",
    "Commands:",
    ...COMMANDS.filter((c) => c.name !== "hook").map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    "",
    "Options: --help, --version. Run 'oci2lxc COMMAND --help' for a command's options.",
    "Exit codes: 0 success, 1 conversion or verification failure, 2 usage error, 130 interrupted.",
  ].join("\n");
}

/** Options of {@linkcode runCli}: what a custom main builds into its program. */
export interface RunCliOptions {
  /** Plugins built in beside the built-ins: every conversion runs them after the built-ins, and `plugins` lists them. */
  plugins?: readonly Plugin<ConversionContext>[];
}

/**
 * Run the CLI with `argv` (without the program name); resolves to the exit code.
 *
 * @example A custom main with one more plugin built in
 * ```ts ignore
 * import { runCli } from "../mod.ts";
 * import { motd } from "../examples/motd_plugin/motd_plugin.ts";
 * if (import.meta.main) Deno.exit(await runCli(Deno.args, { plugins: [motd()] }));
 * ```
 */
export async function runCli(argv: string[], options: RunCliOptions = {}): Promise<number> {
  const debug = argv.includes("--debug");
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    printOut(mainHelp());
    return name === undefined ? 2 : 0;
  }
  if (name === "--version" || name === "-V") {
    printOut(versionLine());
    return 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    printErr(`error: Cannot run "${name}": no such command`);
    printErr(`usage: oci2lxc COMMAND [OPTIONS] [ARGS]; commands: ${COMMANDS.map((c) => c.name).join(", ")}`);
    return 2;
  }
  try {
    const args = parseCommandArgs(command, rest);
    if (args.values.help) {
      printOut(commandHelp(command));
      return 0;
    }
    for (const plugin of options.plugins ?? []) validatePlugin(plugin as Plugin<unknown>);
    return await command.run(args, { plugins: options.plugins ?? [] });
  } catch (err) {
    const code = reportError(err, debug);
    if (err instanceof Oci2LxcError && err.code === "usage") printErr(shortUsage(command));
    return code;
  }
}
