/**
 * `oci2lxc inspect IMAGE`: what an image holds.
 *
 * @module
 */
import { inspect } from "../core/api.ts";
import { formatInspect } from "../core/inspect.ts";
import type { Command } from "./commands.ts";
import { printOut } from "./output.ts";

/** The inspect command. */
export const inspectCommand: Command = {
  name: "inspect",
  summary: "show an image's platforms, manifest, config and layers",
  usage: "oci2lxc inspect IMAGE [--platform OS/ARCH[/VARIANT]] [--json]",
  description: [
    "IMAGE is oci-archive:FILE[:REF], docker-archive:FILE[:REF], oci:DIR[:REF], or a",
    "path whose kind is found from its content. A gzip- or zstd-compressed archive is",
    "decompressed once to a temporary file in $TMPDIR (or /tmp), removed afterwards.",
  ].join("\n"),
  examples: [
    "oci2lxc inspect oci-archive:nginx.tar",
    "oci2lxc inspect docker-archive:saved.tar:myapp:1.2 --json",
    "oci2lxc inspect oci:./layout:latest --platform linux/arm64",
  ],
  options: {
    platform: { type: "string", value: "OS/ARCH[/VARIANT]", help: "Platform to select (default: this host's)" },
    json: { type: "boolean", help: "Print the report as JSON" },
  },
  positionals: [1, 1],
  run(args) {
    const report = inspect(args.positionals[0]!, { platform: args.values.platform as string | undefined });
    printOut(args.values.json ? JSON.stringify(report, null, 2) : formatInspect(report));
    return 0;
  },
};
