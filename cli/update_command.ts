/**
 * `oci2lxc update DEST [IMAGE]`: a container to a newer image, keeping its data (core/update/).
 *
 * @module
 */
import { messageLine, Oci2LxcError, quoteForMessage } from "../core/errors.ts";
import { updateContainer, updateReference } from "../core/update/update_container.ts";
import { formatUpdateReport } from "../core/update/update_report.ts";
import { builtinPlugins } from "../plugins/mod.ts";
import type { Command } from "./commands.ts";
import { withInterrupt } from "./interrupt.ts";
import { loadPlugins } from "./load_plugins.ts";
import { printErr, printOut } from "./output.ts";
import { progressFetchHooks, progressLine } from "./progress.ts";
import { readStdinText } from "./registry_options.ts";
import { FETCH_OPTIONS, fetchOptionValues, MAX_PARALLEL_OPTION } from "./fetch_options.ts";
import { selfCommand } from "./self_command.ts";
import { parseVmid } from "./option_values.ts";

/** The update command. */
export const updateCommand: Command = {
  name: "update",
  summary: "update a container to a newer image, keeping its data and your config edits",
  usage: "oci2lxc update DEST [IMAGE] [OPTIONS]",
  description: [
    "Converts IMAGE (by default the reference DEST was made from: a docker:// tag is",
    "asked again) with the options DEST was made with (recorded in DEST/oci2lxc.json",
    "by 'oci2lxc convert') into a new rootfs beside DEST and swaps it in. The image's",
    "Env is refreshed, your --env wins. The data in the image's volumes inside the",
    "rootfs moves across (renamed, not copied); a volume the new image lacks is kept",
    "in DEST/volumes-aside. Config lines you added or changed since the conversion",
    "are kept (a clash with a new image value keeps yours and says so). The old",
    "generation stays in DIR/.NAME.oci2lxc-previous for 'oci2lxc rollback DEST'.",
    "",
    "The same image again does nothing and says 'up to date' (--force rebuilds). A",
    "running container is refused unless --restart. An interrupted update leaves DEST",
    "as it was.",
    "",
    "For a --format pve output directory (docs/proxmox.md), --vmid N writes a new",
    "template and N.conf beside the old ones and prints the pct steps that create",
    "container N, move the old one's mount points to it and start it.",
    "",
    "A docker:// image is pulled as by 'oci2lxc convert': through the blob cache",
    "(--cache-dir, --no-cache, --pull), the mirrors (--registry-mirror,",
    "--registries-conf) and --max-parallel downloads, so a fleet of containers",
    "updated to one image downloads each new layer once; layers the old image shared",
    "are read from the cache. --pull=never updates from the cache alone.",
  ].join("\n"),
  examples: [
    "oci2lxc update /var/lib/lxc/web",
    "oci2lxc update /var/lib/lxc/web oci-archive:nginx.tar --restart",
    "oci2lxc update /var/lib/lxc/app --keep 0 --json",
    "oci2lxc update /var/lib/lxc/app docker://registry.example.com/app:1.2 --max-parallel 8",
  ],
  options: {
    force: { type: "boolean", help: "Rebuild even when the image is the one DEST was made from" },
    keep: { type: "string", value: "1|0", help: "Keep the old generation (1, default) or remove it after success (0)" },
    restart: { type: "boolean", help: "Stop a running container, update it and start it again" },
    wait: { type: "boolean", help: "Wait for another run on DEST to end instead of failing at once" },
    json: { type: "boolean", help: "Print the report as JSON on stdout" },
    quiet: { type: "boolean", short: "q", help: "No progress line and no warnings on stderr" },
    vmid: { type: "string", value: "N", help: "Proxmox VE output (--format pve): the new container's id" },
    plugin: { type: "string", multiple: true, value: "FILE", help: "Also run this plugin module (deno run only)" },
    ...FETCH_OPTIONS,
    ...MAX_PARALLEL_OPTION,
  },
  positionals: [1, 2],
  positionalNames: ["DEST", "IMAGE"],
  async run(args, cli) {
    const v = args.values;
    const keep = v.keep === undefined ? 1 : v.keep === "0" ? 0 : v.keep === "1" ? 1 : undefined;
    if (keep === undefined) {
      throw new Oci2LxcError("usage", `Cannot use --keep ${quoteForMessage(String(v.keep))}: choose 1 or 0`);
    }
    const quiet = v.quiet === true;
    const image = args.positionals[1];
    // Layers streamed from a registry count as downloaded on the progress rows: known from IMAGE, or from DEST's record.
    const remote = updateReference(args.positionals[0]!, image)?.startsWith("docker://") ?? false;
    const progress = progressLine(quiet, { remote });
    try {
      const warn = (w: string) => {
        if (quiet) return;
        progress.done();
        printErr(`warning: ${messageLine(w)}`);
      };
      const registry = await fetchOptionValues(v, {
        readStdin: readStdinText,
        onWarning: warn,
        ...progressFetchHooks(progress),
      });
      const extra = [...cli.plugins, ...await loadPlugins((v.plugin as string[] | undefined) ?? [])];
      const report = await withInterrupt((signal) =>
        updateContainer(args.positionals[0]!, {
          image,
          force: v.force === true,
          keep,
          restart: v.restart === true,
          vmid: v.vmid === undefined ? undefined : parseVmid(v.vmid as string),
          wait: v.wait === true,
          registry,
          ...(extra.length ? { plugins: [...builtinPlugins(), ...extra] } : {}),
          selfCommand: selfCommand(),
          signal,
          onProgress: (p) => progress.update(p),
          onWarning: warn,
        })
      );
      progress.done();
      printOut(v.json ? JSON.stringify(report, null, 2) : formatUpdateReport(report).trimEnd());
      return 0;
    } finally {
      progress.done();
    }
  },
};
