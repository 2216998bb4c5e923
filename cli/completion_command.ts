/**
 * `oci2lxc completion bash`: a bash completion script made from the same command and option tables the parser uses
 * (commands.ts), so it cannot offer an option the parser refuses or miss one it takes.
 *
 * What it completes: the command names; each command's options (long and short, `--help`/`--debug` too); the values
 * of an option whose value name is a list of words (`--format lxc|pve`, `--pve-version 7|8|9.0|9.1`); file names for
 * options whose value is a host path (FILE, DIR, HOSTDIR…) and for the positionals (IMAGE, DEST); nothing for other
 * values (a name, a JSON array). `--opt=value` is handled as bash splits it (`--opt`, `=`, `value`).
 *
 * @module
 */
import { Oci2LxcError, quoteForMessage } from "../core/errors.ts";
import { type Command, COMMON_OPTIONS, type OptionSpec } from "./commands.ts";
import { printOut } from "./output.ts";

/** Value names that are host paths: complete file names (`--workdir PATH` is a path in the container: not these). */
const PATH_VALUES = /^(FILE|DIR|HOSTDIR:PATH\[:ro\])$/;
/** A value name that lists its choices in lower case (`lxc|pve`), not placeholders (`JSON|PROG`). */
const CHOICES = /^[a-z0-9.]+(\|[a-z0-9.]+)+$/;

/** What completing the value of `spec` offers: `words:…`, `files`, or `none`. */
function valueCompletion(spec: OptionSpec): string {
  const value = spec.value ?? "";
  if (CHOICES.test(value)) return `words:${value.split("|").join(" ")}`;
  if (PATH_VALUES.test(value)) return "files";
  return "none";
}

/** Quote a word for bash (the tables hold plain option names and value words; this keeps it safe anyway). */
function bashWord(word: string): string {
  return /^[A-Za-z0-9_.:|=-]*$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/**
 * The bash completion script for `commands` (the visible ones; the hidden ones LXC runs are left out by the caller).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { bashCompletion } from "./completion_command.ts";
 * assert(bashCompletion([]).includes("complete -F _oci2lxc oci2lxc"));
 * ```
 */
export function bashCompletion(commands: readonly Command[]): string {
  const optionCases: string[] = [];
  const valueCases: string[] = [];
  for (const command of commands) {
    const specs = { ...command.options, ...COMMON_OPTIONS };
    const words = Object.entries(specs).flatMap(([name, spec]) => [
      `--${name}`,
      ...(spec.short ? [`-${spec.short}`] : []),
    ]);
    optionCases.push(`    ${bashWord(command.name)}) opts=${bashWord(words.join(" "))} ;;`);
    for (const [name, spec] of Object.entries(specs)) {
      if (spec.type !== "string") continue;
      const flags = [`--${name}`, ...(spec.short ? [`-${spec.short}`] : [])];
      valueCases.push(
        `    ${bashWord(command.name)}:${flags.map(bashWord).join(`|${bashWord(command.name)}:`)}) ` +
          `what=${bashWord(valueCompletion(spec))} ;;`,
      );
    }
  }
  const names = commands.map((c) => c.name).join(" ");
  return [
    "# bash completion for oci2lxc, made by 'oci2lxc completion bash' from its option tables.",
    "# Load it with: source <(oci2lxc completion bash)",
    "# or save it as /etc/bash_completion.d/oci2lxc (or ~/.local/share/bash-completion/completions/oci2lxc).",
    "_oci2lxc() {",
    '  local cur="${COMP_WORDS[COMP_CWORD]}" prev="" command="" opts="" what="" i',
    "  COMPREPLY=()",
    '  (( COMP_CWORD > 0 )) && prev="${COMP_WORDS[COMP_CWORD-1]}"',
    '  # bash splits --opt=value at "=": complete the value of --opt.',
    '  if [[ "$cur" == "=" ]]; then cur=""; fi',
    '  if [[ "$prev" == "=" ]] && (( COMP_CWORD > 1 )); then prev="${COMP_WORDS[COMP_CWORD-2]}"; fi',
    "  for (( i = 1; i < COMP_CWORD; i++ )); do",
    '    if [[ "${COMP_WORDS[i]}" != -* ]]; then command="${COMP_WORDS[i]}"; break; fi',
    "  done",
    '  if [[ -z "$command" ]]; then',
    `    COMPREPLY=( $(compgen -W ${bashWord(`${names} --help --version`)} -- "$cur") )`,
    "    return 0",
    "  fi",
    '  case "$command:$prev" in',
    ...valueCases,
    "  esac",
    '  case "$what" in',
    '    words:*) COMPREPLY=( $(compgen -W "${what#words:}" -- "$cur") ); return 0 ;;',
    // One file a line (mapfile), so a name with a blank stays one candidate.
    '    files) mapfile -t COMPREPLY < <(compgen -f -- "$cur"); compopt -o filenames 2>/dev/null; return 0 ;;',
    "    none) return 0 ;;",
    "  esac",
    '  case "$command" in',
    ...optionCases,
    "    *) return 0 ;;",
    "  esac",
    '  if [[ "$cur" == -* ]]; then',
    '    COMPREPLY=( $(compgen -W "$opts" -- "$cur") )',
    "  else",
    '    mapfile -t COMPREPLY < <(compgen -f -- "$cur")',
    "    compopt -o filenames 2>/dev/null",
    "  fi",
    "  return 0",
    "}",
    "complete -F _oci2lxc oci2lxc",
    "",
  ].join("\n");
}

/** Make the completion command for the commands `list()` gives (run_cli.ts passes its visible commands). */
export function completionCommand(list: () => readonly Command[]): Command {
  return {
    name: "completion",
    summary: "print a shell completion script (bash)",
    usage: "oci2lxc completion bash",
    description: [
      "Prints a bash completion script made from the same option tables the parser uses:",
      "commands, options, option values with fixed choices, and file names. Load it in the",
      "running shell with 'source <(oci2lxc completion bash)', or save it as",
      "/etc/bash_completion.d/oci2lxc.",
    ].join("\n"),
    examples: ["source <(oci2lxc completion bash)", "oci2lxc completion bash"],
    options: {},
    positionals: [1, 1],
    positionalNames: ["SHELL"],
    run(args) {
      const shell = args.positionals[0]!;
      if (shell !== "bash") {
        throw new Oci2LxcError("usage", `Cannot make completions for ${quoteForMessage(shell)}: only bash is known`, {
          hint: "Use oci2lxc completion bash",
        });
      }
      printOut(bashCompletion(list()));
      return 0;
    },
  };
}
