/**
 * `oci2lxc rollback DEST`: swap DEST with the generation `oci2lxc update` kept (core/update/).
 *
 * @module
 */
import { messageLine } from "../core/errors.ts";
import { rollbackContainer } from "../core/update/rollback_container.ts";
import { formatUpdateReport } from "../core/update/update_report.ts";
import type { Command } from "./commands.ts";
import { withInterrupt } from "./interrupt.ts";
import { printErr, printOut } from "./output.ts";

/** The rollback command. */
export const rollbackCommand: Command = {
  name: "rollback",
  summary: "swap a container back to the generation before its last update",
  usage: "oci2lxc rollback DEST [OPTIONS]",
  description: [
    "The generation 'oci2lxc update' kept (DIR/.NAME.oci2lxc-previous) and DEST change",
    "places in one rename; the volume data moves with the container. What was DEST is",
    "kept in its place, so a second rollback goes forward again. A running container",
    "is refused unless --restart.",
  ].join("\n"),
  examples: ["oci2lxc rollback /var/lib/lxc/web", "oci2lxc rollback /var/lib/lxc/web --restart --json"],
  options: {
    restart: { type: "boolean", help: "Stop a running container, roll it back and start it again" },
    wait: { type: "boolean", help: "Wait for another run on DEST to end instead of failing at once" },
    json: { type: "boolean", help: "Print the report as JSON on stdout" },
    quiet: { type: "boolean", short: "q", help: "No warnings on stderr" },
  },
  positionals: [1, 1],
  positionalNames: ["DEST"],
  async run(args) {
    const v = args.values;
    const report = await withInterrupt((signal) =>
      rollbackContainer(args.positionals[0]!, {
        restart: v.restart === true,
        wait: v.wait === true,
        signal,
        onWarning: (w) => {
          if (v.quiet !== true) printErr(`warning: ${messageLine(w)}`);
        },
      })
    );
    printOut(v.json ? JSON.stringify(report, null, 2) : formatUpdateReport(report).trimEnd());
    return 0;
  },
};
