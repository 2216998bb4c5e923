/**
 * `oci2lxc verify IMAGE`: re-check every digest and size, report all mismatches.
 *
 * @module
 */
import { withInterrupt } from "./interrupt.ts";
import { verify } from "../core/api.ts";
import type { Command } from "./commands.ts";
import { printErr, printOut } from "./output.ts";
import { EXIT_CODES, messageLine } from "../core/errors.ts";
import { readStdinText } from "./registry_options.ts";
import { FETCH_OPTIONS, fetchOptionValues } from "./fetch_options.ts";

/** The verify command. */
export const verifyCommand: Command = {
  name: "verify",
  summary: "re-check every digest and size of an image and report all mismatches",
  usage: "oci2lxc verify IMAGE [--platform OS/ARCH[/VARIANT]] [--json]",
  description: [
    "Reads the index, manifest, config and every layer completely: sizes, digests,",
    "decompression, diff_ids and tar structure. Every mismatch is listed; the exit code",
    "is 0 when all match, else that of the first problem's class (4 digest mismatch,",
    "3 damaged image, 10 registry; see 'oci2lxc --help'). IMAGE may be docker://…:",
    "every layer is then streamed from the registry and checked, none kept.",
  ].join("\n"),
  examples: [
    "oci2lxc verify oci-archive:nginx.tar",
    "oci2lxc verify docker-archive:saved.tar.gz --json",
    "oci2lxc verify multiarch.tar --platform linux/arm64",
    "oci2lxc verify docker://registry.example.com/app:1.2 --authfile auth.json",
  ],
  options: {
    platform: { type: "string", value: "OS/ARCH[/VARIANT]", help: "Platform to select (default: this host's)" },
    json: { type: "boolean", help: "Print the report as JSON" },
    ...FETCH_OPTIONS,
  },
  positionals: [1, 1],
  positionalNames: ["IMAGE"],
  async run(args) {
    const registry = await fetchOptionValues(args.values, {
      readStdin: readStdinText,
      onWarning: (w) => printErr(`warning: ${messageLine(w)}`),
    });
    const report = await withInterrupt((signal) =>
      verify(args.positionals[0]!, { platform: args.values.platform as string | undefined, signal, registry })
    );
    if (args.values.json) {
      printOut(JSON.stringify(report, null, 2));
    } else {
      for (const l of report.layers) printOut(`layer ${l.index + 1}: ${l.digest} ok, diff_id ${l.diffId}`);
      if (report.reordered) printOut("note: the manifest lists layers in another order than the config's diff_ids");
      for (const p of report.problems) printErr(`error: ${messageLine(p.message)}`);
      if (!report.ok) {
        printErr(
          args.positionals[0]!.startsWith("docker://")
            ? "hint: The registry holds a damaged image, or something between it and us changed the bytes; run again"
            : "hint: The archive is damaged or was modified; fetch or save the image again",
        );
      }
      printOut(report.ok ? "verified: all digests and sizes match" : `${report.problems.length} problem(s) found`);
    }
    // The first problem's class: the error a conversion of this image would have stopped with.
    return report.problems.length === 0 ? 0 : EXIT_CODES[report.problems[0]!.code];
  },
};
