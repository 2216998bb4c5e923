/**
 * `oci2lxc convert IMAGE DEST`: the main job.
 *
 * @module
 */
import { convert } from "../core/api.ts";
import { resolve } from "node:path";
import { messageLine, Oci2LxcError, quoteForMessage, terminalText } from "../core/errors.ts";
import { checkConfigValue } from "../core/lxc/config_value.ts";
import { checkEnvOption } from "../core/plan/plan_env.ts";
import { parsePveTarget } from "../core/pve/pve_conf.ts";
import { checkDestForConfig, checkLxcVersion, parseVmid } from "./option_values.ts";
import { DEFAULT_UNPRIVILEGED_MAP, parseIdMap } from "../core/rootfs/parse_id_map.ts";
import { workingDirectory } from "../core/rootfs/dest_guard.ts";
import type { ConversionReport } from "../core/conversion.ts";
import type { CliContext, Command, ParsedArgs } from "./commands.ts";
import { formatReport } from "./format_report.ts";
import { withInterrupt } from "./interrupt.ts";
import { printErr, printOut } from "./output.ts";
import { progressFetchHooks, progressLine } from "./progress.ts";
import { selfCommand } from "./self_command.ts";
import { loadPlugins } from "./load_plugins.ts";
import { readStdinText } from "./registry_options.ts";
import { FETCH_OPTIONS, fetchOptionValues, MAX_PARALLEL_OPTION } from "./fetch_options.ts";
import { builtinPlugins } from "../plugins/mod.ts";

/** The convert command. */
export const convertCommand: Command = {
  name: "convert",
  summary: "turn an image into an LXC container directory (DEST/config, DEST/rootfs)",
  usage: "oci2lxc convert IMAGE DEST [OPTIONS]",
  description: [
    "IMAGE is oci-archive:FILE[:REF], docker-archive:FILE[:REF], oci:DIR[:REF],",
    "docker://[HOST[:PORT]/]NAME[:TAG][@DIGEST] (a registry: layers stream straight into",
    "the rootfs, no copy on disk; credentials and TLS as for 'oci2lxc pull'), or a",
    "path whose kind is found from its content. DEST is the container directory; its",
    "base name is the container name, so DEST=/var/lib/lxc/web starts with",
    "'lxc-start -n web'. The rootfs is built in a staging directory beside DEST and",
    "moved into place only when complete; a failure leaves DEST as it was. A gzip- or",
    "zstd-compressed archive is decompressed once to a temporary file beside DEST.",
    "",
    '--entrypoint and --cmd take a JSON array (\'["/bin/sh","-c","x"]\') or one',
    "string that becomes a single argument. --env NAME=value sets, NAME= sets empty,",
    "NAME removes; the image's other variables stay.",
    "",
    "--dry-run does every stage but the commit (the layers are applied in the staging",
    "directory, then removed) and prints the plan: platform and digests, what became",
    "of every image config field (mapped, overridden, defaulted or dropped, and why),",
    "the network, the plugins that take part and the warnings. --json prints the same",
    "report as JSON (docs/report.schema.json); a real conversion adds timings, bytes",
    "read and written, and the final paths. On a terminal, progress shows on stderr,",
    "a row per layer; Ctrl-C stops, removes the staging directory and exits with 130.",
    "",
    "--force replaces an existing DEST only if it looks like a container (a config or",
    "rootfs in it, or empty), has nothing mounted in it and is not running; add",
    "--replace-any for any other directory. /, the system's directories and the",
    "working directory (or one above it) are never replaced. One conversion into a",
    "DEST at a time: a second one fails at once naming the first one's PID, or waits",
    "with --wait. Leftovers of killed runs beside DEST are removed by the next run.",
    "With --format pve DEST is written into, not replaced: a file the run writes",
    "(NAME.tar.zst, VMID.conf, ...) that is already there fails it before any work,",
    "unless --force.",
  ].join("\n"),
  examples: [
    "oci2lxc convert nginx.tar /var/lib/lxc/web --dry-run",
    "oci2lxc convert oci-archive:nginx.tar /var/lib/lxc/web --net name=eth0,link=lxcbr0,ip=dhcp",
    "oci2lxc convert nginx.tar /var/lib/lxc/web --net link=lxcbr0,ip=10.0.3.50/24,gw=10.0.3.1 --force",
    "oci2lxc convert docker-archive:app.tar.gz /var/lib/lxc/app --env LOG_LEVEL=debug --volume /srv/app:/data",
    "oci2lxc convert oci:./layout:latest /var/lib/lxc/ct --unprivileged --json",
    "oci2lxc convert oci-archive:multiarch.tar /var/lib/lxc/arm --platform linux/arm64 --dry-run --json",
    "oci2lxc convert nginx.tar /var/tmp/web --format pve --vmid 120 --pve-version 9.1",
    "oci2lxc convert docker://registry.example.com/app:1.2 /var/lib/lxc/app --creds me --password-stdin",
  ],
  options: {
    platform: { type: "string", value: "OS/ARCH[/VARIANT]", help: "Platform to select (default: this host's)" },
    name: { type: "string", value: "NAME", help: "Container name (default: DEST's base name)" },
    force: {
      type: "boolean",
      help: "Replace DEST if it is a container, once the new one is complete",
    },
    "replace-any": {
      type: "boolean",
      help: "With --force: replace DEST even without config or rootfs in it",
    },
    wait: { type: "boolean", help: "Wait for another conversion into DEST to end instead of failing at once" },
    "dry-run": { type: "boolean", help: "Do all the work but leave DEST untouched; print the plan" },
    json: { type: "boolean", help: "Print the report as JSON on stdout" },
    quiet: { type: "boolean", short: "q", help: "No progress line and no warnings on stderr" },
    entrypoint: { type: "string", value: "JSON|PROG", help: "Replace the image's Entrypoint (clears its Cmd)" },
    cmd: { type: "string", value: "JSON|ARG", help: "Replace the image's Cmd" },
    env: {
      type: "string",
      multiple: true,
      value: "NAME=VALUE",
      help: "Set, empty (NAME=) or remove (NAME) a variable",
    },
    user: { type: "string", value: "USER[:GROUP]", help: "Replace the image's User" },
    workdir: { type: "string", value: "PATH", help: "Replace the image's WorkingDir" },
    "stop-signal": { type: "string", value: "SIGNAL", help: "Replace the image's StopSignal" },
    volume: { type: "string", multiple: true, value: "HOSTDIR:PATH[:ro]", help: "Bind-mount a host directory" },
    net: {
      type: "string",
      multiple: true,
      value: "SPEC",
      help: "Network: none, or name=eth0,link=BR,ip=CIDR|dhcp,gw=IP,… (repeatable)",
    },
    idmap: { type: "string", value: "MAP", help: "Unprivileged: shift owners, e.g. u:0:100000:65536,g:0:100000:65536" },
    unprivileged: { type: "boolean", help: "Unprivileged with the usual map b:0:100000:65536" },
    "allow-approximate": { type: "boolean", help: "As a normal user: skip owners and devices instead of refusing" },
    "lxc-version": { type: "string", value: "X.Y.Z", help: "LXC version the config is for (default: this host's)" },
    plugin: { type: "string", multiple: true, value: "FILE", help: "Also run this plugin module (deno run only)" },
    format: {
      type: "string",
      value: "lxc|pve",
      help: "lxc: DEST/config + DEST/rootfs (default); pve: Proxmox VE template in DEST",
    },
    vmid: { type: "string", value: "N", help: "With --format pve: the container id for pct create" },
    "pve-version": {
      type: "string",
      value: "7|8|9.0|9.1",
      help: "With --format pve: the Proxmox VE version (default 8)",
    },
    ...FETCH_OPTIONS,
    ...MAX_PARALLEL_OPTION,
  },
  positionals: [2, 2],
  positionalNames: ["IMAGE", "DEST"],
  async run(args, cli) {
    const report = await runConversion(args.positionals[0]!, args.positionals[1]!, args, cli);
    printOut(args.values.json ? JSON.stringify(report, null, 2) : terminalText(formatReport(report)));
    return 0;
  },
};

/**
 * Convert `image` into `dest` with convert's options from `args`: checked up front, then the conversion with the
 * progress line, live warnings and Ctrl-C handling. Shared by `convert` and the LXC template (`lxc-template`).
 */
export async function runConversion(
  image: string,
  dest: string,
  args: ParsedArgs,
  cli: CliContext,
): Promise<ConversionReport> {
  const quiet = args.values.quiet === true;
  // The plan of a human --dry-run lists the warnings itself; saying them twice is noise.
  const liveWarnings = !quiet && !(args.values["dry-run"] === true && args.values.json !== true);
  const progress = progressLine(quiet, { remote: image.startsWith("docker://") });
  try {
    const options = convertOptions(args, dest);
    const warn = (w: string) => {
      if (!liveWarnings) return;
      progress.done();
      printErr(`warning: ${messageLine(w)}`);
    };
    const registry = await fetchOptionValues(args.values, {
      readStdin: readStdinText,
      onWarning: warn,
      ...progressFetchHooks(progress),
    });
    const extra = [...cli.plugins, ...await loadPlugins((args.values.plugin as string[] | undefined) ?? [])];
    return await withInterrupt((signal) =>
      convert(image, dest, {
        ...options,
        registry,
        ...(extra.length ? { plugins: [...builtinPlugins(), ...extra] } : {}),
        signal,
        selfCommand: selfCommand(),
        onProgress: (p) => progress.update(p),
        onWarning: warn,
      })
    );
  } finally {
    progress.done();
  }
}

function argvOption(text: string | undefined, flag: string): string[] | undefined {
  if (text === undefined) return undefined;
  if (text.trimStart().startsWith("[")) {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (cause) {
      throw new Oci2LxcError("usage", `Cannot parse ${flag}: ${(cause as Error).message}`, { cause });
    }
    if (!Array.isArray(value) || !value.every((v) => typeof v === "string")) {
      throw new Oci2LxcError("usage", `Cannot parse ${flag}: expected a JSON array of strings`);
    }
    return value;
  }
  return [text];
}

/**
 * The library's options from the command line. Every value is checked here, before any work, the same way for a
 * real run and for --dry-run (option_values.ts).
 */
function convertOptions(args: ParsedArgs, dest: string) {
  const v = args.values;
  if (v.idmap !== undefined && v.unprivileged) {
    throw new Oci2LxcError("usage", "Cannot use --idmap and --unprivileged together: --unprivileged is one idmap");
  }
  const format = formatOption(v.format as string | undefined);
  if (format !== "pve") checkDestForConfig(resolve(dest.startsWith("/") ? "/" : workingDirectory(dest), dest));
  ((v.env as string[] | undefined) ?? []).forEach((entry, i) => {
    checkConfigValue(entry, `--env[${i}]`, "usage");
    checkEnvOption(entry, `--env[${i}]`);
  });
  if (v["pve-version"] !== undefined) parsePveTarget(v["pve-version"] as string);
  return {
    platform: v.platform as string | undefined,
    name: v.name as string | undefined,
    force: v.force === true,
    replaceAny: v["replace-any"] === true,
    wait: v.wait === true,
    dryRun: v["dry-run"] === true,
    entrypoint: argvOption(v.entrypoint as string | undefined, "--entrypoint"),
    cmd: argvOption(v.cmd as string | undefined, "--cmd"),
    env: v.env as string[] | undefined,
    user: v.user as string | undefined,
    workdir: v.workdir as string | undefined,
    stopSignal: v["stop-signal"] as string | undefined,
    volumes: v.volume as string[] | undefined,
    net: v.net as string[] | undefined,
    idmap: v.unprivileged
      ? DEFAULT_UNPRIVILEGED_MAP
      : v.idmap !== undefined
      ? parseIdMap(v.idmap as string)
      : undefined,
    allowApproximate: v["allow-approximate"] === true,
    lxcVersion: v["lxc-version"] === undefined ? undefined : checkLxcVersion(v["lxc-version"] as string),
    format,
    vmid: v.vmid === undefined ? undefined : parseVmid(v.vmid as string),
    pveVersion: v["pve-version"] as string | undefined,
  };
}

function formatOption(text: string | undefined): "lxc" | "pve" | undefined {
  if (text === undefined || text === "lxc" || text === "pve") return text;
  throw new Oci2LxcError("usage", `Cannot use --format ${quoteForMessage(text)}: choose lxc or pve`);
}
