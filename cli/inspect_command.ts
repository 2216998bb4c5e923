/**
 * `oci2lxc inspect IMAGE`: what an image holds; with `--plan`, what
 * converting it would do.
 *
 * @module
 */
import { terminalText } from "../core/errors.ts";
import { makeTempDirIn } from "../core/temp_dir.ts";
import { convert, inspect } from "../core/api.ts";
import type { ConversionReport } from "../core/conversion.ts";
import { formatInspect } from "../core/inspect.ts";
import { isContainerName } from "../core/plan/container_name.ts";
import { builtinPlugins } from "../plugins/mod.ts";
import type { CliContext, Command } from "./commands.ts";
import { formatReport } from "./format_report.ts";
import { withInterrupt } from "./interrupt.ts";
import { printErr, printOut } from "./output.ts";
import { readStdinText } from "./registry_options.ts";
import { FETCH_OPTIONS, fetchOptionValues } from "./fetch_options.ts";
import type { RegistryOptions } from "../core/open.ts";
import { messageLine } from "../core/errors.ts";

/** The inspect command. */
export const inspectCommand: Command = {
  name: "inspect",
  summary: "show an image's platforms, manifest, config and layers",
  usage: "oci2lxc inspect IMAGE [--platform OS/ARCH[/VARIANT]] [--plan] [--json]",
  description: [
    "IMAGE is oci-archive:FILE[:REF], docker-archive:FILE[:REF], oci:DIR[:REF],",
    "docker://[HOST[:PORT]/]NAME[:TAG][@DIGEST], or a path whose kind is found from its",
    "content. From a registry only the index, manifest and config are read, no layer.",
    "A gzip- or zstd-compressed archive is decompressed once to a temporary file in",
    "$TMPDIR (or /tmp), removed afterwards.",
    "",
    "--plan prints what 'convert --dry-run' would print, for a container named after",
    "the image file (nginx.tar: nginx; else 'container'), with paths relative to the",
    "directory it would go in. Like convert --dry-run it applies the layers, here in a",
    "temporary directory in $TMPDIR that is removed afterwards; for convert's options",
    "(--net, --user, …) use 'convert IMAGE DEST --dry-run'.",
  ].join("\n"),
  examples: [
    "oci2lxc inspect oci-archive:nginx.tar",
    "oci2lxc inspect docker-archive:saved.tar:busybox:latest --json",
    "oci2lxc inspect oci:./layout:latest",
    "oci2lxc inspect multiarch.tar --platform linux/arm64",
    "oci2lxc inspect nginx.tar --plan",
  ],
  options: {
    platform: { type: "string", value: "OS/ARCH[/VARIANT]", help: "Platform to select (default: this host's)" },
    plan: { type: "boolean", help: "Print the conversion plan (as convert --dry-run) instead" },
    json: { type: "boolean", help: "Print the report as JSON" },
    ...FETCH_OPTIONS,
  },
  positionals: [1, 1],
  positionalNames: ["IMAGE"],
  async run(args, cli) {
    const registry = await fetchOptionValues(args.values, {
      readStdin: readStdinText,
      onWarning: (w) => printErr(`warning: ${messageLine(w)}`),
    });
    if (args.values.plan) {
      const report = await planImage(args.positionals[0]!, args.values.platform as string | undefined, registry, cli);
      printOut(args.values.json ? JSON.stringify(report, null, 2) : terminalText(formatReport(report)));
      return 0;
    }
    // Ctrl-C also stops the unpacking of a compressed archive and a registry's transfers.
    const report = await withInterrupt((signal) =>
      inspect(args.positionals[0]!, { platform: args.values.platform as string | undefined, signal, registry })
    );
    printOut(args.values.json ? JSON.stringify(report, null, 2) : terminalText(formatInspect(report)));
    return 0;
  },
};

/**
 * The container name `inspect --plan` uses: the image file's base name up to
 * its first dot or colon (`oci-archive:nginx.tar` gives `nginx`,
 * `oci:./layout:latest` gives `layout`), or `container` when that is not a
 * valid name.
 */
export function planName(reference: string): string {
  const path = reference.replace(/^(oci-archive|docker-archive|oci):/, "");
  const base = path.split("/").filter((p) => p !== "" && p !== "." && p !== "..").at(-1) ?? "";
  const stem = base.split(/[.:]/)[0] ?? "";
  // The stem has no dot (split above), so this is the container name rule.
  return isContainerName(stem) ? stem : "container";
}

/** Run a dry-run conversion in a temporary directory and report it with paths relative to it. */
async function planImage(
  reference: string,
  platform: string | undefined,
  registry: RegistryOptions,
  cli: CliContext,
): Promise<ConversionReport> {
  const name = planName(reference);
  const dir = makeTempDirIn("oci2lxc-plan-");
  try {
    const report = await withInterrupt((signal) =>
      convert(reference, `${dir}/${name}`, {
        dryRun: true,
        platform,
        registry,
        // A plan is a preview: as a normal user, show it with the approximations (they are warnings in it).
        allowApproximate: true,
        signal,
        ...(cli.plugins.length ? { plugins: [...builtinPlugins(), ...cli.plugins] } : {}),
      })
    );
    report.dest = name;
    report.paths = { dest: name, config: `${name}/config`, rootfs: `${name}/rootfs` };
    return report;
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}
