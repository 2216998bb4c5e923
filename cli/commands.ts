/**
 * The command table: each command's usage, options and runner, so `--help`,
 * usage errors and dispatch come from one place.
 *
 * @module
 */
import { parseArgs } from "node:util";
import type { ConversionContext } from "../core/conversion.ts";
import { Oci2LxcError, quoteForMessage } from "../core/errors.ts";
import type { Plugin } from "../core/plugin.ts";

/** Option spec in node:util parseArgs form, plus a help line. */
export interface OptionSpec {
  type: "boolean" | "string";
  multiple?: boolean;
  short?: string;
  help: string;
  /** Name of the value in help, e.g. "OS/ARCH". */
  value?: string;
}

/** One command of the CLI. */
export interface Command {
  name: string;
  summary: string;
  usage: string;
  /** Longer text shown by --help after the options. */
  description: string;
  examples: string[];
  options: Record<string, OptionSpec>;
  /** How many positionals: [min, max]. */
  positionals: [number, number];
  /**
   * Names of the positionals as the usage line spells them (`IMAGE`, `DEST`),
   * so a usage error says which one is missing. Optional: without it the
   * error gives the count.
   */
  positionalNames?: readonly string[];
  run(args: ParsedArgs, cli: CliContext): Promise<number> | number;
}

/** What runCli hands every command besides its arguments. */
export interface CliContext {
  /** Plugins built into this program by its main (runCli's `plugins`); they run after the built-ins. */
  plugins: readonly Plugin<ConversionContext>[];
}

/** What a command's runner gets. */
export interface ParsedArgs {
  positionals: string[];
  values: Record<string, string | boolean | string[] | undefined>;
}

/** Options every command takes. */
export const COMMON_OPTIONS: Record<string, OptionSpec> = {
  help: { type: "boolean", short: "h", help: "Show this help" },
  debug: { type: "boolean", help: "On failure, print the chain of causes" },
};

/**
 * Parse a command's arguments; usage errors are Oci2LxcError("usage").
 * `notUtf8` holds the indexes in `argv` of arguments that were not valid UTF-8 (see raw_args.ts): each is refused
 * by the name of the option or positional it is.
 */
export function parseCommandArgs(command: Command, argv: string[], notUtf8: readonly number[] = []): ParsedArgs {
  const specs = { ...COMMON_OPTIONS, ...command.options };
  const options: Record<string, { type: "boolean" | "string"; multiple?: boolean; short?: string }> = {};
  for (const [name, spec] of Object.entries(specs)) {
    options[name] = {
      type: spec.type,
      ...(spec.multiple ? { multiple: true } : {}),
      ...(spec.short ? { short: spec.short } : {}),
    };
  }
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true, tokens: true });
  } catch (cause) {
    const message = (cause as Error).message.replace(/\. To specify a positional.*$/s, "");
    throw new Oci2LxcError("usage", `Cannot parse arguments of ${command.name}: ${message}`, { cause });
  }
  const values = parsed.values as ParsedArgs["values"];
  if (values.help) return { positionals: parsed.positionals, values };
  checkTokens(command, specs, parsed.tokens, notUtf8);
  const [min, max] = command.positionals;
  if (parsed.positionals.length < min) {
    throw new Oci2LxcError("usage", `Cannot run ${command.name}: ${missing(command, parsed.positionals.length)}`);
  }
  if (parsed.positionals.length > max) {
    throw new Oci2LxcError(
      "usage",
      `Cannot run ${command.name}: unexpected argument ${quoteForMessage(parsed.positionals[max]!)}`,
    );
  }
  return { positionals: parsed.positionals, values };
}

type Token =
  | { kind: "option"; name: string; rawName: string; index: number; inlineValue?: boolean | undefined }
  | { kind: "positional"; index: number }
  | { kind: "option-terminator"; index: number };

/**
 * Refuse what parseArgs lets through: an argument that was not UTF-8 (named by its option or positional), and a
 * single-value option given twice (parseArgs keeps the last one silently; a script that adds `--name x` to a line
 * that has one already would get a container it did not ask for).
 */
function checkTokens(
  command: Command,
  specs: Record<string, OptionSpec>,
  tokens: readonly Token[],
  notUtf8: readonly number[],
): void {
  const seen = new Set<string>();
  let positional = 0;
  for (const token of tokens) {
    if (token.kind === "option-terminator") continue;
    if (token.kind === "positional") {
      const name = command.positionalNames?.[positional] ?? `argument ${positional + 1}`;
      positional++;
      if (notUtf8.includes(token.index)) throw notUtf8Error(name);
      continue;
    }
    const spec = specs[token.name];
    const takesValue = spec?.type === "string";
    const separateValue = takesValue && !token.inlineValue;
    if (notUtf8.includes(token.index) || (separateValue && notUtf8.includes(token.index + 1))) {
      throw notUtf8Error(`--${token.name}`);
    }
    if (takesValue && !spec.multiple) {
      if (seen.has(token.name)) {
        const repeatable = Object.entries(specs).filter(([, s]) => s.multiple).map(([n]) => `--${n}`);
        throw new Oci2LxcError("usage", `Cannot use --${token.name} more than once: it takes one value`, {
          hint: `Give --${token.name} once${
            repeatable.length ? `; the options that repeat are ${repeatable.join(", ")}` : ""
          }`,
        });
      }
      seen.add(token.name);
    }
  }
}

function notUtf8Error(what: string): Oci2LxcError {
  return new Oci2LxcError("usage", `Cannot use ${what}: it is not valid UTF-8`, {
    hint: `Pass ${what} as UTF-8 text: paths, names and values go into the LXC config and messages as text`,
  });
}

/** "IMAGE is missing", "IMAGE and DEST are missing", or a count when the names are not known. */
function missing(command: Command, given: number): string {
  const [min] = command.positionals;
  const names = command.positionalNames?.slice(given, min) ?? [];
  if (names.length === min - given) {
    return names.length === 1
      ? `${names[0]} is missing`
      : `${names.slice(0, -1).join(", ")} and ${names.at(-1)} are missing`;
  }
  return `expected at least ${min} argument${min === 1 ? "" : "s"}, got ${given}`;
}

/** The `--help` text of a command. */
export function commandHelp(command: Command): string {
  const lines = [`oci2lxc ${command.name}: ${command.summary}`, "", `Usage: ${command.usage}`, "", "Options:"];
  const entries = Object.entries({ ...command.options, ...COMMON_OPTIONS });
  const labels = entries.map(([name, spec]) =>
    `${spec.short ? `-${spec.short}, ` : "    "}--${name}${spec.type === "string" ? ` ${spec.value ?? "VALUE"}` : ""}`
  );
  const width = Math.max(...labels.map((l) => l.length));
  entries.forEach(([, spec], i) => lines.push(`  ${labels[i]!.padEnd(width)}  ${spec.help}`));
  if (command.description) lines.push("", ...command.description.split("\n"));
  if (command.examples.length) lines.push("", "Examples:", ...command.examples.map((e) => `  ${e}`));
  return lines.join("\n");
}

/** A short usage hint for usage errors. */
export function shortUsage(command: Command): string {
  return `usage: ${command.usage}\nRun 'oci2lxc ${command.name} --help' for more.`;
}
