/**
 * `convert --format pve`: write a converted container as Proxmox VE files
 * instead of an LXC directory: `OUTDIR/NAME.tar.zst` (a template for
 * `pct create`), `OUTDIR/VMID.conf` (lines for `/etc/pve/lxc/VMID.conf`)
 * and, for Proxmox VE before 9.1 when the image sets a user or working
 * directory, `OUTDIR/VMID.oci2lxc.conf` (an LXC file the config includes).
 *
 * Name resolution: Proxmox VE writes `/etc/hosts` and `/etc/resolv.conf` only
 * for the distributions it manages, never for `ostype: unmanaged`. So an
 * application container's template holds them, generated as for LXC output
 * (which bind-mounts them instead): `/etc/hosts` with the hostname, and,
 * when the container has a network interface, `/etc/resolv.conf` from the
 * converting host's (loopback servers dropped). The rootfs is not changed.
 * With DHCP on 9.1 (`host-managed`), LXC's dhclient-script rewrites
 * resolv.conf from the lease.
 *
 * @module
 */
import { join } from "node:path";
import { describeError, Oci2LxcError } from "../errors.ts";
import type { ContainerPlan } from "../plan/container_plan.ts";
import { parsePveTarget, type PveConfig, type PveExtraLine, type PveVersion, renderPveConfig } from "./pve_conf.ts";
import { isContainerName } from "../plan/container_name.ts";
import { type TemplateFile, writePveTemplate } from "./pve_template.ts";
import { placeFile } from "./place_file.ts";
import { ownerTag } from "../rootfs/owner_tag.ts";
import { filterResolvConf, hostsFile } from "../../plugins/hosts_files.ts";
import type { IdMap } from "../rootfs/id_map.ts";

/** Options for {@linkcode writePveOutput}. */
export interface PveOutputOptions {
  /** The converted rootfs (the staging rootfs of a conversion). */
  rootfsDir: string;
  /** The converted container. */
  plan: ContainerPlan;
  /** Where the files go; created if missing. */
  outDir: string;
  /** The Proxmox VE container id the config is for. */
  vmid: number;
  /** `7`, `8`, `9.0`, `9.1`, or a version text such as `8.4` or `pve-container/6.1.0` ({@linkcode parsePveTarget}). */
  pveVersion: PveVersion | string;
  /** The template's base name: `NAME.tar.zst`. */
  name: string;
  /** The id map the rootfs was written with, if any; the template holds container ids. */
  idmap?: IdMap | undefined;
  /** `--net` specs instead of the plan's (as `renderPveConfig`'s `net`). */
  net?: readonly string[] | undefined;
  /** Lines plugins added to the config, checked for Proxmox VE as they were added. */
  extra?: readonly PveExtraLine[] | undefined;
  /** Description lines for the config (image reference, digest). */
  header?: readonly string[] | undefined;
  /** Host path for the include file; default `/var/lib/lxc/VMID/oci2lxc.conf`. */
  includePath?: string | undefined;
  /** The resolv.conf an application container's template gets (loopback servers dropped); default `/etc/resolv.conf`. */
  hostResolvConf?: string | undefined;
  /** zstd level (default 3) and worker threads (default: CPUs, at most 8). */
  level?: number | undefined;
  workers?: number | undefined;
  onWarning?: ((message: string) => void) | undefined;
  /** Stops the template write (an "interrupted" error); nothing is then left of the template, conf or include file. */
  signal?: AbortSignal | undefined;
  /** Which files already in `outDir` may be replaced; none by default ({@linkcode PveReplace}). */
  replace?: PveReplace | undefined;
}

/**
 * Which of the files a write finds in the output directory it replaces: `none` (the write fails there and leaves them
 * alone), `template` (`NAME.tar.zst` only: `oci2lxc update`, whose new template takes the old one's place) or `all`
 * (`--force`).
 */
export type PveReplace = "none" | "template" | "all";

/** What {@linkcode writePveOutput} wrote. */
export interface PveOutput {
  /** Path of `NAME.tar.zst`. */
  template: string;
  /** Path of `VMID.conf`. */
  conf: string;
  /** Path of `VMID.oci2lxc.conf`, when one was needed. */
  include: string | undefined;
  /** Where the include file must go on the Proxmox VE host. */
  includeTarget: string | undefined;
  /** Tar members in the template. */
  members: number;
  /** Size of the template file. */
  bytes: number;
  /** Shell commands to run on the Proxmox VE host, for the CLI to print. */
  steps: string[];
}

/** The conf rendered by {@linkcode renderPveOutput}, and the write that follows it. */
export interface RenderedPveOutput {
  /** The text of `VMID.conf`. */
  readonly conf: string;
  /**
   * Write the template from `rootfsDir`, the conf, the include file and the files of `beside` (name in the output
   * directory → text, e.g. the record `oci2lxc update` reads) into the output directory: all of them or none.
   */
  write(rootfsDir: string, beside?: ReadonlyMap<string, string>): Promise<PveOutput>;
}

/**
 * Write the Proxmox VE template and config for a converted container. The
 * config is rendered first, so a value Proxmox VE cannot take fails before
 * the (long) template write. Every file appears complete or not at all, and
 * replaces one of the same name only as `options.replace` allows.
 *
 * @throws {Oci2LxcError} `usage` (bad name, vmid, version, `--net`),
 *   `config` (a value PVE cannot take), `rootfs`, `destination`, `interrupted` (`signal`)
 */
export async function writePveOutput(options: PveOutputOptions): Promise<PveOutput> {
  return await renderPveOutput(options).write(options.rootfsDir);
}

/**
 * Check the name and render the config, writing nothing: the conversion does this in its configure stage (also for
 * a dry run), and writes at the commit.
 *
 * @throws {Oci2LxcError} `usage` (bad name, vmid, version, `--net`), `config` (a value PVE cannot take)
 */
export function renderPveOutput(options: Omit<PveOutputOptions, "rootfsDir">): RenderedPveOutput {
  const { name, vmid } = options;
  if (!isContainerName(name)) {
    throw new Oci2LxcError(
      "usage",
      `Cannot use template name ${JSON.stringify(name)}: use letters, digits, "_", "." and "-"`,
      {
        hint: "Proxmox VE renames other characters to _ on upload; pass --name",
      },
    );
  }
  const target = parsePveTarget(options.pveVersion);
  const templateName = `${name}.tar.zst`;
  const rendered = renderPveConfig(options.plan, {
    vmid,
    pveVersion: target.version,
    pveContainer: target.pveContainer,
    templateName,
    net: options.net,
    header: options.header,
    includePath: options.includePath,
    onWarning: options.onWarning,
    extra: options.extra,
  });
  return {
    conf: rendered.conf,
    write: (rootfsDir, beside) => writeRendered(options, rootfsDir, templateName, rendered, beside),
  };
}

async function writeRendered(
  options: Omit<PveOutputOptions, "rootfsDir">,
  rootfsDir: string,
  templateName: string,
  rendered: PveConfig,
  beside: ReadonlyMap<string, string> = new Map(),
): Promise<PveOutput> {
  const { vmid, outDir } = options;
  const replace = options.replace ?? "none";
  try {
    Deno.mkdirSync(outDir, { recursive: true });
  } catch (err) {
    throw new Oci2LxcError("destination", `Cannot create ${outDir}: ${describeError(err)}`, { cause: err });
  }
  const template = join(outDir, templateName);
  const result = await writePveTemplate(rootfsDir, template, {
    etcFiles: options.plan.kind === "app" ? nameFiles(rendered, options) : undefined,
    idmap: options.idmap,
    onWarning: options.onWarning,
    level: options.level,
    workers: options.workers,
    signal: options.signal,
    replace: replace !== "none",
  });
  // From here on nothing waits, so no signal is seen before the files are complete; should the conf, the include file
  // or one beside them fail, what this write placed goes too: a template without its conf is half a result.
  const conf = join(outDir, `${vmid}.conf`);
  const include = rendered.include === undefined ? undefined : join(outDir, `${vmid}.oci2lxc.conf`);
  const files = new Map([[conf, rendered.conf]]);
  if (include !== undefined) files.set(include, rendered.include!);
  for (const [name, text] of beside) files.set(join(outDir, name), text);
  const written = [template];
  try {
    for (const [path, text] of files) {
      writeTextAtomic(path, text, replace === "all");
      written.push(path);
    }
  } catch (err) {
    for (const path of written) removeQuietly(path);
    throw err;
  }
  return {
    template,
    conf,
    include,
    includeTarget: rendered.includePath,
    members: result.members,
    bytes: result.bytes,
    steps: pveSteps(options.plan, vmid, templateName, rendered.includePath),
  };
}

/** `/etc/hosts` and (with a network) `/etc/resolv.conf` for an application container's template. */
function nameFiles(
  rendered: { hostname: string; hasNetwork: boolean },
  options: Omit<PveOutputOptions, "rootfsDir">,
): Map<string, TemplateFile> {
  const enc = new TextEncoder();
  const files = new Map<string, TemplateFile>([["etc/hosts", {
    data: enc.encode(hostsFile(rendered.hostname)),
    mode: 0o644,
  }]]);
  if (!rendered.hasNetwork) return files;
  const source = options.hostResolvConf ?? "/etc/resolv.conf";
  let text: string | undefined;
  try {
    text = filterResolvConf(Deno.readTextFileSync(source));
  } catch (err) {
    options.onWarning?.(`cannot read ${source} (${describeError(err)}): the template's /etc/resolv.conf is empty`);
  }
  if (text !== undefined && !/^\s*nameserver\s/m.test(text)) {
    options.onWarning?.(
      `${source} names no DNS server the container can reach (loopback ones are dropped): the template's /etc/resolv.conf has none; set one inside the container`,
    );
  }
  files.set("etc/resolv.conf", { data: enc.encode(text ?? ""), mode: 0o644 });
  return files;
}

/** The commands that make and start the container on the Proxmox VE host. */
function pveSteps(
  plan: ContainerPlan,
  vmid: number,
  templateName: string,
  includeTarget: string | undefined,
): string[] {
  const arch = plan.arch === undefined ? "" : ` --arch ${plan.arch}`;
  const steps = [
    `cp ${templateName} /var/lib/vz/template/cache/`,
    `pct create ${vmid} local:vztmpl/${templateName} --ostype unmanaged${arch} --unprivileged 1`,
    `cat ${vmid}.conf >> /etc/pve/lxc/${vmid}.conf`,
  ];
  if (includeTarget !== undefined) {
    const dir = includeTarget.slice(0, includeTarget.lastIndexOf("/")) || "/";
    steps.push(`mkdir -p ${dir} && cp ${vmid}.oci2lxc.conf ${includeTarget}`);
  }
  steps.push(`pct start ${vmid}`);
  return steps;
}

function writeTextAtomic(path: string, text: string, replace: boolean): void {
  // Named after this process and its start time, and made new: a file of that name is not ours to overwrite.
  const partial = `${path}.partial-${ownerTag()}`;
  try {
    Deno.writeTextFileSync(partial, text, { mode: 0o644, createNew: true });
  } catch (err) {
    if (!(err instanceof Deno.errors.AlreadyExists)) removeQuietly(partial);
    throw new Oci2LxcError("destination", `Cannot write ${path}: ${describeError(err)}`, { cause: err });
  }
  try {
    placeFile(partial, path, { replace });
  } catch (err) {
    removeQuietly(partial);
    throw err;
  }
}

function removeQuietly(path: string): void {
  try {
    Deno.removeSync(path);
  } catch {
    // nothing to clean up
  }
}
