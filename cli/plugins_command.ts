/**
 * `oci2lxc plugins`: the plugins that take part in conversions, with their
 * hooks and options.
 *
 * @module
 */
import { HOOK_KINDS } from "../core/plugin.ts";
import { builtinPlugins } from "../plugins/mod.ts";
import type { Command } from "./commands.ts";
import { loadPlugins } from "./load_plugins.ts";
import { printOut } from "./output.ts";

/** The plugins command. */
export const pluginsCommand: Command = {
  name: "plugins",
  summary: "list the plugins a conversion runs, with their hooks and options",
  usage: "oci2lxc plugins [--plugin FILE]... [--json]",
  description: "Built-in plugins run in the order listed; --plugin adds one (under deno run only).",
  examples: ["oci2lxc plugins", "oci2lxc plugins --plugin ./my_plugin.ts --json"],
  options: {
    plugin: { type: "string", multiple: true, value: "FILE", help: "Also load this plugin module (deno run only)" },
    json: { type: "boolean", help: "Print the list as JSON" },
  },
  positionals: [0, 0],
  async run(args, cli) {
    const extra = await loadPlugins((args.values.plugin as string[] | undefined) ?? []);
    const list = [
      ...builtinPlugins().map((p) => ({ p, origin: "built-in" })),
      ...cli.plugins.map((p) => ({ p, origin: "custom" })),
      ...extra.map((p) => ({ p, origin: "--plugin" })),
    ]
      .map(({ p, origin }) => ({
        name: p.name,
        origin,
        order: p.order ?? "normal",
        conditional: p.apply !== undefined,
        hooks: Object.keys(HOOK_KINDS).filter((h) => typeof (p as unknown as Record<string, unknown>)[h] === "function")
          .map((h) => `${h} (${HOOK_KINDS[h as keyof typeof HOOK_KINDS]})`),
        options: p.options ?? {},
      }));
    if (args.values.json) {
      printOut(JSON.stringify(list, null, 2));
      return 0;
    }
    for (const p of list) {
      printOut(
        `${p.name} [${p.origin}${p.order !== "normal" ? `, ${p.order}` : ""}${p.conditional ? ", conditional" : ""}]`,
      );
      printOut(`  hooks: ${p.hooks.join(", ")}`);
      if (Object.keys(p.options).length) printOut(`  options: ${JSON.stringify(p.options)}`);
    }
    return 0;
  },
};
