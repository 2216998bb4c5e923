/**
 * oci2lxc command line entry point. Thin by design: everything happens in
 * cli/run_cli.ts, which calls the same library functions as mod.ts.
 *
 * @module
 */
import { runCli } from "./cli/run_cli.ts";

if (import.meta.main) {
  Deno.exit(await runCli(Deno.args));
}
