/**
 * `oci2lxc lxc-template`: what the LXC template script (`lxc-oci2lxc`, written by `oci2lxc install-lxc-template`)
 * runs, so that `lxc-create -t oci2lxc -n NAME -- IMAGE [convert options]` converts IMAGE into the container LXC
 * is creating. Not for people; the main `--help` does not list it.
 *
 * How LXC 5 runs a template (src/lxc/lxccontainer.c, `__lxcapi_create` and `create_run_template`): it creates the
 * container directory LXCPATH/NAME, writes its config there (lxc.default_config or `-f FILE`, plus
 * `lxc.rootfs.path = dir:LXCPATH/NAME/rootfs` and `lxc.uts.name`), makes the empty rootfs directory and a locked
 * `partial` marker, then runs `TEMPLATE --path=LXCPATH/NAME --name=NAME --rootfs=ROOTFS ARGS…` (ARGS: what follows
 * `--` on lxc-create's line; `--mapped-uid N --mapped-gid N` are appended, and the template run through
 * lxc-usernsexec, when the config has `lxc.idmap`). Afterwards it prepends a comment header to the config, reloads
 * it, and unlinks LXCPATH/NAME/partial by path; if the template fails it destroys the container directory.
 *
 * So we move LXC's directory aside, convert into LXCPATH/NAME as `convert` would (staging beside it, atomic), and
 * then write one config: lxc-create's lines first (its default.conf's AppArmor, network, includes), then ours,
 * which come later and so win for single-value keys. The network comes from one side only: ours when `--net` was
 * given, else lxc-create's when it has one, else ours (loopback only). Last, the `partial` marker is put back for
 * LXC to remove and LXC's old directory is removed. On failure LXC's directory is moved back, so lxc-create cleans
 * up as it does after any failed template.
 *
 * @module
 */
import { dirname } from "node:path";
import { Oci2LxcError, quoteForMessage } from "../core/errors.ts";
import { checkContainerName } from "../core/plan/container_name.ts";
import { lxcCreateAsideName } from "../core/rootfs/stale_leftovers.ts";
import type { IdRange } from "../core/rootfs/id_map.ts";
import type { Command, OptionSpec } from "./commands.ts";
import { convertCommand, runConversion } from "./convert_command.ts";
import { printOut } from "./output.ts";

/** convert's options that make no sense inside lxc-create (LXC owns the directory and gives the name). */
const NOT_FOR_LXC_CREATE = new Set(["force", "replace-any", "dry-run", "format", "vmid", "pve-version", "json"]);

function templateOptions(): Record<string, OptionSpec> {
  const options: Record<string, OptionSpec> = {};
  for (const [name, spec] of Object.entries(convertCommand.options)) {
    if (!NOT_FOR_LXC_CREATE.has(name)) options[name] = spec;
  }
  return {
    path: { type: "string", value: "DIR", help: "Given by lxc-create: the container directory (LXCPATH/NAME)" },
    name: { type: "string", value: "NAME", help: "Given by lxc-create: the container name" },
    rootfs: { type: "string", value: "DIR", help: "Given by lxc-create: the rootfs directory (DIR/rootfs)" },
    "mapped-uid": { type: "string", value: "UID", help: "Given by lxc-create with lxc.idmap (not supported)" },
    "mapped-gid": { type: "string", value: "GID", help: "Given by lxc-create with lxc.idmap (not supported)" },
    ...options,
  };
}

/** The lxc-template command. */
export const lxcTemplateCommand: Command = {
  name: "lxc-template",
  summary: "run by the LXC template: lxc-create -t oci2lxc -n NAME -- IMAGE [convert options]",
  usage: "lxc-create -t oci2lxc -n NAME [-P LXCPATH] -- IMAGE [convert options]",
  description: [
    "The template 'oci2lxc install-lxc-template' installs. lxc-create runs it with",
    "--path, --name and --rootfs; the words after lxc-create's '--' are IMAGE and",
    "convert's options (--net, --env, --user, --volume, --unprivileged, …). The container",
    "gets lxc-create's config (its default.conf or -f FILE: AppArmor, network) followed by",
    "what convert writes; convert's --net replaces lxc-create's network.",
  ].join("\n"),
  examples: [
    "lxc-create -t oci2lxc -n web -- oci-archive:nginx.tar",
    "lxc-create -t oci2lxc -n app -- docker-archive:app.tar --net link=lxcbr0,ip=dhcp --env LOG=debug",
  ],
  options: templateOptions(),
  positionals: [1, 1],
  positionalNames: ["IMAGE"],
  async run(args, cli) {
    const v = args.values;
    const path = v.path as string | undefined;
    const name = v.name as string | undefined;
    if (path === undefined || name === undefined || v.rootfs === undefined) {
      throw new Oci2LxcError("usage", "Cannot run lxc-template: --path, --name and --rootfs are missing", {
        hint: "It is run by lxc-create: lxc-create -t oci2lxc -n NAME -- IMAGE [convert options]",
      });
    }
    // lxc-create takes names that convert does not; convert's hint (--name, DEST) means nothing here.
    checkContainerName(
      name,
      'lxc-create takes names the oci2lxc template cannot use as lxc.uts.name: choose another -n NAME (e.g. "web-1")',
    );
    if (v["mapped-uid"] !== undefined || v["mapped-gid"] !== undefined) {
      throw new Oci2LxcError("usage", `Cannot create ${name} with the oci2lxc template in a user namespace`, {
        hint: "Create it as root without lxc.idmap in lxc-create's config and pass --unprivileged " +
          "after '--' (oci2lxc shifts the owners and writes lxc.idmap itself)",
      });
    }
    if (v.rootfs !== `${path}/rootfs`) {
      throw new Oci2LxcError(
        "usage",
        `Cannot convert into rootfs ${quoteForMessage(v.rootfs as string)}: the oci2lxc template writes ${path}/rootfs`,
        { hint: "Use lxc-create's default directory backing store (no -B other than dir, no --dir)" },
      );
    }
    const aside = await moveAside(path, name);
    let report;
    try {
      report = await runConversion(args.positionals[0]!, path, args, cli);
      const theirs = await Deno.readTextFile(`${aside}/config`);
      const ours = await Deno.readTextFile(`${path}/config`);
      await Deno.writeTextFile(`${path}/config`, mergeLxcCreateConfig(theirs, ours, v.net !== undefined));
      // LXC keeps the container directory 0770 and its config 0640 (others cannot look into the rootfs): keep them.
      // With an id map the container's root must get through the directory to its rootfs: like lxc-create for an
      // unprivileged container (chown_mapped_root), the directory then belongs to the mapped root.
      await Deno.chmod(path, (await Deno.stat(aside)).mode! & 0o7777);
      await Deno.chmod(`${path}/config`, (await Deno.stat(`${aside}/config`)).mode! & 0o7777);
      const idmap = report.container.idmap;
      if (idmap) await Deno.chown(path, hostIdOfRoot(idmap.uid), hostIdOfRoot(idmap.gid));
      // lxc-create unlinks LXCPATH/NAME/partial by path once the template ends.
      await Deno.writeFile(`${path}/partial`, new Uint8Array(), { mode: 0 });
    } catch (err) {
      if (report) await Deno.remove(path, { recursive: true }).catch(() => {});
      await Deno.rename(aside, path);
      throw err;
    }
    await Deno.remove(aside, { recursive: true });
    printOut(`Converted ${report.reference} into ${name} (${path}); start it with lxc-start -n ${name}`);
    return 0;
  },
};

/** The host id that container id 0 maps to (a validated map always has a range starting at 0). */
function hostIdOfRoot(ranges: readonly IdRange[]): number {
  return ranges.find((r) => r.container === 0)!.host;
}

/**
 * Move the directory lxc-create made (config, empty rootfs, partial) beside it, after checking that it holds
 * nothing else: the conversion then makes LXCPATH/NAME as `convert` does, and a failure can put LXC's back.
 */
async function moveAside(path: string, name: string): Promise<string> {
  const entries = [];
  for await (const entry of Deno.readDir(path)) entries.push(entry.name);
  const unexpected = entries.filter((e) => !["config", "rootfs", "partial"].includes(e));
  let rootfsEmpty = true;
  for await (const _ of Deno.readDir(`${path}/rootfs`)) rootfsEmpty = false;
  if (unexpected.length > 0 || !rootfsEmpty) {
    throw new Oci2LxcError("destination", `Cannot create ${name} in ${path}: it holds more than lxc-create made`, {
      hint: `Remove what is in ${path} besides config and an empty rootfs, or use another -n NAME`,
    });
  }
  // Named with this run's PID and start time: after a kill, the next conversion into NAME removes it.
  const aside = `${dirname(path)}/${lxcCreateAsideName(name)}`;
  await Deno.rename(path, aside);
  return aside;
}

/** `key` of a config line, or undefined for blank lines and comments. */
function keyOf(line: string): string | undefined {
  const m = /^\s*([a-z0-9_.]+)\s*=/i.exec(line);
  return m?.[1];
}

/**
 * The container's config: lxc-create's lines (without the rootfs path and name, which ours give, and without lines
 * ours repeat), then ours. The network comes from ours when `userNet` (convert's --net was given), else from
 * lxc-create's config when it has any `lxc.net.*` line, else from ours.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { mergeLxcCreateConfig } from "./lxc_template_command.ts";
 * const theirs = "lxc.net.0.type = veth\nlxc.net.0.link = lxcbr0\nlxc.rootfs.path = dir:/x/rootfs\n";
 * const ours = "lxc.rootfs.path = dir:/x/rootfs\nlxc.net.0.type = empty\nlxc.init.cmd = /app\n";
 * const merged = mergeLxcCreateConfig(theirs, ours, false);
 * assert(merged.includes("lxc.net.0.link = lxcbr0") && !merged.includes("type = empty"));
 * ```
 */
export function mergeLxcCreateConfig(theirs: string, ours: string, userNet: boolean): string {
  const isNet = (line: string) => keyOf(line)?.startsWith("lxc.net.") === true;
  const ourLines = ours.split("\n");
  const theirLines = theirs.split("\n").filter((line) => keyOf(line) !== undefined);
  const netFromThem = !userNet && theirLines.some(isNet);
  const ourSet = new Set(ourLines.map((l) => l.trim()));
  const kept = theirLines.filter((line) => {
    const key = keyOf(line)!;
    if (isNet(line)) return netFromThem;
    return key !== "lxc.rootfs.path" && key !== "lxc.uts.name" && !ourSet.has(line.trim());
  });
  const mine = ourLines.filter((line) => !netFromThem || !isNet(line));
  const head = [
    "# From lxc-create's config (lxc.default_config or -f FILE)" +
    (netFromThem ? ", with its network" : ""),
    ...kept,
    "",
  ];
  return [...head, ...mine].join("\n");
}
