/**
 * A custom oci2lxc with the motd plugin built in: the whole CLI, plus one
 * plugin that every conversion runs after the built-ins. Build a binary with
 * `deno compile -A --output my-oci2lxc examples/custom_main/main.ts`.
 *
 * @module
 */
import { runCli } from "../../mod.ts";
import { motd } from "../motd_plugin/motd_plugin.ts";

if (import.meta.main) {
  Deno.exit(await runCli(Deno.args, { plugins: [motd()] }));
}
