/**
 * `oci2lxc version`: the program's and Deno's versions.
 *
 * @module
 */
import { VERSION } from "../core/version.ts";
import type { Command } from "./commands.ts";
import { printOut } from "./output.ts";

/** The version line, also printed by `--version`. */
export function versionLine(): string {
  return `oci2lxc ${VERSION} (deno ${Deno.version.deno}, v8 ${Deno.version.v8})`;
}

/** The version command. */
export const versionCommand: Command = {
  name: "version",
  summary: "print the program version and the Deno version",
  usage: "oci2lxc version [--json]",
  description: "",
  examples: ["oci2lxc version", "oci2lxc version --json", "oci2lxc --version"],
  options: { json: { type: "boolean", help: "Print as JSON" } },
  positionals: [0, 0],
  run(args) {
    printOut(
      args.values.json
        ? JSON.stringify({ version: VERSION, deno: Deno.version.deno, v8: Deno.version.v8 })
        : versionLine(),
    );
    return 0;
  },
};
