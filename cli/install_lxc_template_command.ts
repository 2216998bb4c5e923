/**
 * `oci2lxc install-lxc-template`: write the LXC template script `lxc-oci2lxc`, so that LXC users create containers
 * the way they know from `lxc-oci`: `lxc-create -t oci2lxc -n NAME -- IMAGE [convert options]`.
 *
 * `lxc-create -t NAME` runs `LXCTEMPLATEDIR/lxc-NAME` (`get_template_path` in LXC's lxccontainer.c; a `-t` with a
 * slash is taken as a path). LXCTEMPLATEDIR is compiled into LXC and no LXC tool prints it: it is
 * `${datadir}/lxc/templates`, which is /usr/share/lxc/templates in Debian's and Ubuntu's packages (where
 * lxc-download and lxc-oci are) and /usr/local/share/lxc/templates for a build from source. The first of those that
 * exists is the default; `--dir` names another.
 *
 * The script only execs this same program (the binary, or Deno with the script that runs now) with `lxc-template`
 * and LXC's arguments; all the work is in lxc_template_command.ts.
 *
 * @module
 */
import { Oci2LxcError } from "../core/errors.ts";
import { VERSION } from "../core/version.ts";
import type { Command } from "./commands.ts";
import { printOut } from "./output.ts";
import { selfCommand } from "./self_command.ts";

/** Where LXC packages put templates, in the order tried. */
export const LXC_TEMPLATE_DIRS = ["/usr/share/lxc/templates", "/usr/local/share/lxc/templates"] as const;

/** The file name `lxc-create -t oci2lxc` looks for. */
export const TEMPLATE_FILE = "lxc-oci2lxc";

/** The line that marks a template file as ours, so we replace it but nothing else. */
const MARKER = "# LXC template of oci2lxc, written by 'oci2lxc install-lxc-template'";

/** Quote one word for sh. */
function shellWord(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/**
 * The template script for `command` (the argv that starts this program).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { templateScript } from "./install_lxc_template_command.ts";
 * assert(templateScript(["/usr/bin/oci2lxc"]).includes('exec /usr/bin/oci2lxc lxc-template "$@"'));
 * ```
 */
export function templateScript(command: readonly string[]): string {
  // Under deno run, the same V8 flag as `deno task oci2lxc` keeps memory flat on large images (README: Performance).
  const argv = command.length > 1 && command[1] === "run"
    ? [command[0]!, "run", "-A", "--v8-flags=--max-semi-space-size=1", ...command.slice(3)]
    : command;
  return [
    "#!/bin/sh",
    MARKER,
    `# (oci2lxc ${VERSION}). Usage: lxc-create -t oci2lxc -n NAME [-P LXCPATH] -- IMAGE [convert options]`,
    "# lxc-create runs it with --path, --name and --rootfs; oci2lxc converts IMAGE into that container.",
    `exec ${argv.map(shellWord).join(" ")} lxc-template "$@"`,
    "",
  ].join("\n");
}

/** The install-lxc-template command. */
export const installLxcTemplateCommand: Command = {
  name: "install-lxc-template",
  summary: "install the LXC template: lxc-create -t oci2lxc -n NAME -- IMAGE [convert options]",
  usage: "oci2lxc install-lxc-template [--dir DIR] [--force]",
  description: [
    `Writes ${TEMPLATE_FILE} into LXC's template directory (${LXC_TEMPLATE_DIRS.join(" or ")},`,
    "the first that exists; --dir for another). The script runs this same program, so",
    "install it again after moving the program. 'lxc-create -t oci2lxc -n NAME --",
    "IMAGE [convert options]' then converts IMAGE into LXCPATH/NAME (as 'convert' does)",
    "and keeps lxc-create's own config (default.conf or -f FILE) before what convert",
    "writes; convert's --net replaces lxc-create's network.",
  ].join("\n"),
  examples: [
    "oci2lxc install-lxc-template --dir /usr/local/share/lxc/templates",
    "lxc-create -t oci2lxc -n web -- oci-archive:nginx.tar",
    "lxc-create -t oci2lxc -n app -- app.tar --net link=lxcbr0,ip=dhcp && lxc-start -n app",
  ],
  options: {
    dir: { type: "string", value: "DIR", help: "Template directory (default: LXC's)" },
    force: { type: "boolean", help: `Replace a ${TEMPLATE_FILE} that oci2lxc did not write` },
  },
  positionals: [0, 0],
  async run(args) {
    const dir = (args.values.dir as string | undefined) ?? defaultTemplateDir();
    const file = `${dir}/${TEMPLATE_FILE}`;
    let existing: string | undefined;
    try {
      existing = await Deno.readTextFile(file);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw cannotWrite(file, err);
    }
    if (existing !== undefined && !existing.includes(MARKER) && args.values.force !== true) {
      throw new Oci2LxcError("destination", `Cannot write ${file}: it exists and oci2lxc did not write it`, {
        hint: "Pass --force to replace it, or --dir to write the template elsewhere",
      });
    }
    // Written beside it and renamed over it: a symlink in its place is replaced, never written (or chmod-ed) through.
    const partial = `${file}.partial-${Deno.pid}`;
    try {
      await Deno.writeTextFile(partial, templateScript(selfCommand()), { mode: 0o755, createNew: true });
      await Deno.chmod(partial, 0o755);
      await Deno.rename(partial, file);
    } catch (err) {
      await Deno.remove(partial).catch(() => {});
      throw cannotWrite(file, err);
    }
    printOut(`Installed ${file}: lxc-create -t ${dir === defaultDirOrUndefined() ? "oci2lxc" : file} -n NAME -- IMAGE`);
    return 0;
  },
};

function defaultDirOrUndefined(): string | undefined {
  return LXC_TEMPLATE_DIRS.find((d) => isDirectory(d));
}

function defaultTemplateDir(): string {
  const dir = defaultDirOrUndefined();
  if (dir === undefined) {
    throw new Oci2LxcError(
      "destination",
      `Cannot find LXC's template directory: none of ${LXC_TEMPLATE_DIRS.join(", ")}`,
      {
        hint: "Install LXC (Debian: apt install lxc), or pass --dir with the directory your LXC reads templates from",
      },
    );
  }
  return dir;
}

function isDirectory(path: string): boolean {
  try {
    return Deno.statSync(path).isDirectory;
  } catch {
    return false;
  }
}

function cannotWrite(file: string, cause: unknown): Oci2LxcError {
  return new Oci2LxcError("destination", `Cannot write ${file}: ${(cause as Error).message}`, {
    cause,
    hint: "Run as root (LXC's template directory belongs to root), or pass --dir",
  });
}
