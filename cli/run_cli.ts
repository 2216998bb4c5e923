/**
 * The command line: pick the command, parse its arguments, run it, and turn
 * every failure into one `error:` line and a documented exit code.
 *
 * @module
 */
import { abortOpenWriters } from "../core/cache/blob_cache.ts";
import type { ConversionContext } from "../core/conversion.ts";
import { type ErrorCode, EXIT_CODES, Oci2LxcError, quoteForMessage, UNEXPECTED_EXIT_CODE } from "../core/errors.ts";
import { type Plugin, validatePlugin } from "../core/plugin.ts";
import { versionLine } from "./version_command.ts";
import { type Command, commandHelp, parseCommandArgs, shortUsage } from "./commands.ts";
import { cacheCommand } from "./cache_command.ts";
import { convertCommand } from "./convert_command.ts";
import { rollbackCommand } from "./rollback_command.ts";
import { updateCommand } from "./update_command.ts";
import { completionCommand } from "./completion_command.ts";
import { hookCommand } from "./hook_command.ts";
import { installLxcTemplateCommand } from "./install_lxc_template_command.ts";
import { lxcTemplateCommand } from "./lxc_template_command.ts";
import { inspectCommand } from "./inspect_command.ts";
import { pluginsCommand } from "./plugins_command.ts";
import { pullCommand } from "./pull_command.ts";
import { versionCommand } from "./version_command.ts";
import { abortActiveWork } from "./interrupt.ts";
import { printErr, printOut, reportError } from "./output.ts";
import { verifyCommand } from "./verify_command.ts";
import { notUtf8Arguments } from "./raw_args.ts";

/** Every command, in the order `--help` lists them. */
export const COMMANDS: Command[] = [
  convertCommand,
  updateCommand,
  rollbackCommand,
  inspectCommand,
  verifyCommand,
  pullCommand,
  pluginsCommand,
  cacheCommand,
  versionCommand,
  installLxcTemplateCommand,
  completionCommand(visible),
  hookCommand,
  lxcTemplateCommand,
];

/** Register further commands (convert, plugins, hook) from their own modules. */
export function addCommand(command: Command): void {
  COMMANDS.push(command);
}

/** A usage error before any command was found: the error, the short usage, exit code 2. */
function noCommand(message: string): number {
  printErr(`error: ${message}`);
  printErr(`usage: oci2lxc COMMAND [OPTIONS] [ARGS]; commands: ${visible().map((c) => c.name).join(", ")}`);
  printErr("Run 'oci2lxc --help' for more.");
  return EXIT_CODES.usage;
}

/** Commands LXC runs, not people: the main --help does not list them. */
const HIDDEN = new Set(["hook", "lxc-template"]);

/** The commands people use (not the ones LXC runs). */
function visible(): Command[] {
  return COMMANDS.filter((c) => !HIDDEN.has(c.name));
}

/** What each exit code means, for --help; typed by ErrorCode, so a new code cannot go unexplained. */
const EXIT_CODE_HELP: Readonly<Record<ErrorCode, string>> = {
  usage: "usage error (the command's usage follows the error line)",
  image: "image: malformed or unreadable (not an archive, truncated, bad JSON)",
  digest: "digest: a blob does not match its digest or size",
  platform: "platform: the image has no manifest for the platform asked for",
  rootfs: "rootfs: a layer cannot be applied (a path too long, an owner outside --idmap)",
  config: "config: the image config cannot become an LXC config (no command, bad user)",
  plugin: "plugin: a plugin cannot be loaded, or one of its hooks failed",
  destination: "destination: DEST exists, or DEST, the cache or a temp file cannot be written",
  registry: "registry: unreachable, refuses us (auth, 429, 5xx), or lacks the image",
  interrupted: "interrupted by Ctrl-C or SIGTERM (the staging directory is removed)",
};

/** The exit code lines of --help, in numeric order, from EXIT_CODES itself. */
function exitCodeLines(): string[] {
  const rows: Array<[number, string]> = [
    [0, "success"],
    [UNEXPECTED_EXIT_CODE, "unexpected failure, likely a bug (run again with --debug, then report it)"],
    ...(Object.keys(EXIT_CODES) as ErrorCode[]).map((
      code,
    ): [number, string] => [EXIT_CODES[code], EXIT_CODE_HELP[code]]),
  ];
  return rows.sort((a, b) => a[0] - b[0]).map(([n, text]) => `  ${String(n).padEnd(4)} ${text}`);
}

function mainHelp(): string {
  const width = Math.max(...visible().map((c) => c.name.length));
  return [
    "oci2lxc: turn an OCI container image into an LXC container that starts",
    "",
    "Usage: oci2lxc COMMAND [OPTIONS] [ARGS]",
    "",
    "Commands:",
    ...visible().map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    "",
    "Options:",
    "  -h, --help     Show this help; 'oci2lxc COMMAND --help' shows a command's",
    "  -V, --version  Print the program version and the Deno version",
    "",
    "Reports go to stdout (--json for scripts); progress, warnings and errors to stderr.",
    "Errors are one line 'error: Cannot …: …', often with a 'hint:' line; --debug adds",
    "the chain of causes.",
    "",
    'Exit codes (one per kind of failure; README\'s "Exit codes" has examples):',
    ...exitCodeLines(),
    "",
    "Examples:",
    "  oci2lxc inspect nginx.tar",
    "  oci2lxc convert nginx.tar /var/lib/lxc/web --dry-run",
    "  oci2lxc convert nginx.tar /var/lib/lxc/web",
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
 * ```ts
 * import assert from "node:assert/strict";
 * import { runCli } from "../mod.ts";
 * import { motd } from "../examples/motd_plugin/motd_plugin.ts";
 * if (import.meta.main) Deno.exit(await runCli(Deno.args, { plugins: [motd()] }));
 * // The same CLI with one more plugin: it answers like the stock one.
 * assert.equal(await runCli(["--version"], { plugins: [motd()] }), 0);
 * ```
 */
export async function runCli(argv: string[], options: RunCliOptions = {}): Promise<number> {
  const debug = argv.includes("--debug");
  // An error that escapes every await (a stray promise, a throwing timer)
  // would end the process with Deno's "Uncaught" trace and leave a staging
  // directory behind: keep it, stop the work (which cleans up), report it.
  let stray: { error: unknown } | undefined;
  const onStray = (event: Event) => {
    event.preventDefault();
    stray ??= { error: event instanceof PromiseRejectionEvent ? event.reason : (event as ErrorEvent).error };
    abortActiveWork();
  };
  globalThis.addEventListener("unhandledrejection", onStray);
  globalThis.addEventListener("error", onStray);
  try {
    const code = await dispatch(argv, options, debug, () => stray !== undefined);
    // Deno dispatches "unhandledrejection" after the microtasks: one macrotask lets a late one arrive.
    await new Promise((resolve) => setTimeout(resolve, 0));
    return stray ? reportError(stray.error, debug) : code;
  } catch (err) {
    return reportError(stray ? stray.error : err, debug);
  } finally {
    globalThis.removeEventListener("unhandledrejection", onStray);
    globalThis.removeEventListener("error", onStray);
    // A download still open now is a leftover (an interrupt came while one was settling its abort): its partial file
    // goes before the process exits, so nothing half-made stays in the cache's tmp/.
    abortOpenWriters();
  }
}

async function dispatch(
  argv: string[],
  options: RunCliOptions,
  debug: boolean,
  strayError: () => boolean,
): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) return noCommand("Cannot run oci2lxc: COMMAND is missing");
  const notUtf8 = notUtf8Arguments(argv);
  if (name === "--help" || name === "-h" || name === "help") {
    printOut(mainHelp());
    return 0;
  }
  if (name === "--version" || name === "-V") {
    if (rest.length > 0) return noCommand(`Cannot use ${name}: unexpected argument ${quoteForMessage(rest[0]!)}`);
    printOut(versionLine());
    return 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) return noCommand(`Cannot run ${quoteForMessage(name)}: no such command`);
  try {
    const args = parseCommandArgs(command, rest, notUtf8.filter((i) => i > 0).map((i) => i - 1));
    if (args.values.help) {
      printOut(commandHelp(command));
      return 0;
    }
    for (const plugin of options.plugins ?? []) validatePlugin(plugin as Plugin<unknown>);
    return await command.run(args, { plugins: options.plugins ?? [] });
  } catch (err) {
    // The work failed because a stray error stopped it: runCli reports that one instead.
    if (strayError()) throw err;
    const code = reportError(err, debug);
    if (err instanceof Oci2LxcError && err.code === "usage") printErr(shortUsage(command));
    return code;
  }
}
