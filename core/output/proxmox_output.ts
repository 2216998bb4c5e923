/**
 * The Proxmox VE output (`--format pve`): `NAME.tar.zst` and `VMID.conf` (and, when needed, the include file) in the
 * directory DEST, made from the staged rootfs at the commit; the staging directory is then removed. Plugins'
 * config lines become raw `lxc.*` lines of the conf, each refused at once (naming the plugin) when Proxmox VE would
 * not keep it; files beside the rootfs are refused (see {@linkcode NoBesideFiles}). A file of the output that is in DEST
 * already is refused before anything is opened, unless `--force` (pve_dest_files.ts).
 *
 * @module
 */
import { join } from "node:path";
import type { ConfigAdditions, ConversionContext, ConvertOptions } from "../conversion.ts";
import { Oci2LxcError } from "../errors.ts";
import { checkConfigValue } from "../lxc/config_value.ts";
import { parsePveTarget, type PveExtraLine } from "../pve/pve_conf.ts";
import { pveLxcKeyProblem } from "../pve/pve_lxc_keys.ts";
import { type PveReplace, renderPveOutput } from "../pve/pve_output.ts";
import type { Staging } from "../rootfs/staging.ts";
import { provenanceOf, pveProvenanceFile } from "../update/provenance.ts";
import { NoBesideFiles } from "./beside_files.ts";
import { guardPveDestFiles, pveDestFiles } from "./pve_dest_files.ts";
import type { OutputRequest, OutputResult, OutputWriter, RenderedOutput } from "./output_writer.ts";

/**
 * The writer of a Proxmox VE template and conf.
 *
 * @throws {Oci2LxcError} `usage` without a valid `vmid` or with an unknown `pveVersion`, `destination` when a file it
 *   writes is in DEST already and may not be replaced (all before anything is opened, also for a dry run, which fails
 *   where the real run would)
 */
export function pveOutput(request: OutputRequest, options: ConvertOptions): OutputWriter {
  const { vmid } = options;
  if (vmid === undefined || !Number.isInteger(vmid) || vmid < 100) {
    throw new Oci2LxcError("usage", "Cannot write Proxmox VE output without a container id", {
      hint: "Pass --vmid N (100 or more), the id you will give pct create",
    });
  }
  const pveVersion = options.pveVersion ?? "8";
  const target = parsePveTarget(pveVersion);
  const { dest, name, reference } = request;
  const replace: PveReplace = options.force ? "all" : options.replaceTemplate ? "template" : "none";
  guardPveDestFiles(pveDestFiles(dest, { name, vmid, target }), replace);
  const extra: PveExtraLine[] = [];
  const config: ConfigAdditions = {
    add(key, value) {
      const problem = /^lxc(\.[a-z0-9_-]+)+$/.test(key) ? pveLxcKeyProblem(key, target) : "not an lxc.* key";
      if (problem !== undefined) {
        throw new Oci2LxcError("config", `Cannot add ${key} to the Proxmox VE conf: ${problem}`, {
          hint:
            `Skip the line when context.format is "pve", give --pve-version the host's pve-container (pveversion -v) ` +
            "if it is newer, or convert without --format pve",
        });
      }
      const text = String(value);
      checkConfigValue(text, `a line from a plugin (${key})`);
      extra.push({ key, value: text });
    },
    comment: (text) => extra.push({ comment: text }),
  };
  const templateName = `${name}.tar.zst`;
  const paths = { dest, config: join(dest, `${vmid}.conf`), rootfs: join(dest, templateName) };
  return {
    format: "pve",
    config,
    files: new NoBesideFiles(),
    paths,
    render(context: ConversionContext): RenderedOutput {
      const rendered = renderPveOutput({
        plan: context.plan,
        outDir: dest,
        vmid,
        pveVersion,
        name,
        idmap: options.idmap,
        header: [`Made by oci2lxc from ${reference}`, `config ${context.image.config.digest}`],
        extra,
        onWarning: context.warn,
        signal: options.signal,
        replace,
      });
      return {
        async write(staging: Staging, dryRun: boolean): Promise<OutputResult> {
          try {
            if (dryRun) return { paths };
            // What the conf was made from, for `oci2lxc update` (docs/proxmox.md, "Updating a container"); written
            // with the template and conf, so a failure leaves none of them.
            const record = provenanceOf(
              context,
              rendered.conf,
              options.plugins?.map((p) => p.name) ?? [
                "builtin",
              ],
              { vmid, pveVersion, template: paths.rootfs },
            );
            const beside = new Map([[pveProvenanceFile(vmid), JSON.stringify(record, null, 2) + "\n"]]);
            // Async with pauses: Ctrl-C stops the template write, and no template or conf is left.
            const out = await rendered.write(join(staging.path, "rootfs"), beside);
            return {
              paths: { dest, config: out.conf, rootfs: out.template },
              pve: {
                template: out.template,
                conf: out.conf,
                include: out.include ?? null,
                includeTarget: out.includeTarget ?? null,
                steps: out.steps,
              },
            };
          } finally {
            // The template holds the rootfs now; the staging directory was only ever a work area.
            await staging.abortAsync();
          }
        },
      };
    },
  };
}
