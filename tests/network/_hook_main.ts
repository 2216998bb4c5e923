/**
 * The CLI with the hook command registered, for tests: the lead registers
 * it in cli/run_cli.ts; until then this is how tests run `oci2lxc hook`.
 */
import { hookCommand } from "../../cli/hook_command.ts";
import { addCommand, COMMANDS, runCli } from "../../cli/run_cli.ts";

if (!COMMANDS.some((c) => c.name === "hook")) addCommand(hookCommand);

if (import.meta.main) {
  Deno.exit(await runCli(Deno.args));
}
