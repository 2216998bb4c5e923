/**
 * What a container directory was made from, recorded beside its `config` at conversion (`DEST/oci2lxc.json`): the
 * reference, the image's digests, the options the user chose, the config lines we wrote and the volumes that live
 * in the rootfs. `oci2lxc update` re-applies the options to a newer image, tells the user's own config edits from
 * ours by comparing with the recorded lines, and knows which rootfs directories hold data to carry over.
 *
 * @module
 */
import { join } from "node:path";
import type { ConversionContext, ConversionReport, ConvertOptions } from "../conversion.ts";
import { containerOf } from "../pipeline/conversion_report.ts";
import { describeError, Oci2LxcError } from "../errors.ts";
import { formatPlatform } from "../image/platform.ts";
import type { IdMap } from "../rootfs/id_map.ts";

/** The record's file name, beside `config`. */
export const PROVENANCE_FILE = "oci2lxc.json";

/** The options of a conversion that `update` re-applies (the user's choices, never the image's values). */
export interface RecordedOptions {
  platform: string;
  name: string;
  entrypoint: string[] | null;
  cmd: string[] | null;
  /** `--env` as given: the image's own Env is read again from each new image, these win over it. */
  env: string[];
  user: string | null;
  workdir: string | null;
  stopSignal: string | null;
  volumes: string[];
  net: string[];
  idmap: IdMap | null;
  /** `--lxc-version` when it was given (otherwise the host's at each conversion). */
  lxcVersion: string | null;
  allowApproximate: boolean;
}

/** The record (`DEST/oci2lxc.json`), in the report schema's terms. */
export interface ProvenanceRecord {
  /** Record format version. */
  schemaVersion: 1;
  /** `lxc`: `DEST/oci2lxc.json` beside `config`; `pve`: `DEST/VMID.oci2lxc.json` beside `VMID.conf`. */
  format: "lxc" | "pve";
  /** For `pve`: the container id, the Proxmox VE version the conf is for, and the template written. */
  pve: { vmid: number; pveVersion: string; template: string } | null;
  /** The image reference as given (for `docker://NAME:TAG`, `update` asks the registry again what the tag is). */
  reference: string;
  image: { transport: string; platform: string; manifestDigest: string; configDigest: string };
  options: RecordedOptions;
  /** Every line of the `config` we wrote, in order; a line in DEST/config that is not here was added by hand. */
  configLines: string[];
  /** The image's volumes that live in the rootfs (not bound to a host directory): their data is carried over. */
  volumes: string[];
  /** The plugins given (`builtin`: the built-in set). */
  plugins: string[];
  /** The container as it was made, to say what an update changed. */
  container: Pick<ConversionReport["container"], "argv" | "env" | "user" | "cwd" | "stopSignal">;
}

/** The recorded options of `options` (the user's choices only). */
export function recordedOptions(options: ConvertOptions, context: ConversionContext): RecordedOptions {
  return {
    platform: formatPlatform(context.image.platform),
    name: context.name,
    entrypoint: options.entrypoint ? [...options.entrypoint] : null,
    cmd: options.cmd ? [...options.cmd] : null,
    env: [...(options.env ?? [])],
    user: options.user ?? null,
    workdir: options.workdir ?? null,
    stopSignal: options.stopSignal ?? null,
    volumes: [...(options.volumes ?? [])],
    net: [...(options.net ?? [])],
    idmap: options.idmap ?? null,
    lxcVersion: options.lxcVersion ?? null,
    allowApproximate: options.allowApproximate ?? false,
  };
}

/** The record of a finished conversion whose config (LXC `config` or Proxmox VE `VMID.conf`) is `configText`. */
export function provenanceOf(
  context: ConversionContext,
  configText: string,
  plugins: string[],
  pve: ProvenanceRecord["pve"] = null,
): ProvenanceRecord {
  const { image } = context;
  return {
    schemaVersion: 1,
    format: pve ? "pve" : "lxc",
    pve,
    reference: context.report.reference,
    image: {
      transport: image.transport,
      platform: formatPlatform(image.platform),
      manifestDigest: image.manifest.digest,
      configDigest: image.config.digest,
    },
    options: recordedOptions(context.options, context),
    configLines: configText.split("\n").filter((line) => line.trim() !== ""),
    volumes: context.plan.volumes.filter((v) => !v.bound).map((v) => v.path),
    plugins,
    container: (({ argv, env, user, cwd, stopSignal }) => ({ argv, env, user, cwd, stopSignal }))(containerOf(context)),
  };
}

/** The options of a new conversion that re-applies `record`'s (ConvertOptions' shape). */
export function optionsOf(record: ProvenanceRecord): ConvertOptions {
  const o = record.options;
  return {
    platform: o.platform,
    name: o.name,
    entrypoint: o.entrypoint ?? undefined,
    cmd: o.cmd ?? undefined,
    env: o.env,
    user: o.user ?? undefined,
    workdir: o.workdir ?? undefined,
    stopSignal: o.stopSignal ?? undefined,
    volumes: o.volumes,
    net: o.net,
    idmap: o.idmap ?? undefined,
    lxcVersion: o.lxcVersion ?? undefined,
    allowApproximate: o.allowApproximate,
    ...(record.pve ? { format: "pve" as const, pveVersion: record.pve.pveVersion } : {}),
  };
}

/** `VMID.oci2lxc.json`: the record of a `--format pve` conversion, beside `VMID.conf` in the output directory. */
export function pveProvenanceFile(vmid: number): string {
  return `${vmid}.oci2lxc.json`;
}

/** The newest `VMID.oci2lxc.json` in the Proxmox VE output directory `dir` (the generation made last), if any. */
export function newestPveRecord(dir: string): string | undefined {
  let best: { path: string; mtime: number } | undefined;
  try {
    for (const e of Deno.readDirSync(dir)) {
      if (!/^\d+\.oci2lxc\.json$/.test(e.name)) continue;
      const path = join(dir, e.name);
      const mtime = Deno.statSync(path).mtime?.getTime() ?? 0;
      if (best === undefined || mtime >= best.mtime) best = { path, mtime };
    }
  } catch {
    return undefined;
  }
  return best?.path;
}

/**
 * Read the record of the container directory `dir`.
 *
 * @throws {Oci2LxcError} code "destination" when there is none (made before records, by hand, or `--format pve`)
 *   or it cannot be read
 */
export function readProvenance(dir: string, what = dir, file = PROVENANCE_FILE): ProvenanceRecord {
  const path = join(dir, file);
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new Oci2LxcError(
        "destination",
        `Cannot update ${what}: it has no ${PROVENANCE_FILE}, so what it was made from (image, options, the config ` +
          "lines we wrote) is unknown and its own edits cannot be told from ours",
        {
          hint: `Convert it once more with 'oci2lxc convert IMAGE ${what} --force' and your options (its rootfs is ` +
            "replaced: copy volume data out first); from then on 'oci2lxc update' works",
        },
      );
    }
    throw new Oci2LxcError("destination", `Cannot read ${path}: ${describeError(err)}`, { cause: err });
  }
  let value: ProvenanceRecord;
  try {
    value = JSON.parse(text) as ProvenanceRecord;
  } catch (cause) {
    throw new Oci2LxcError("destination", `Cannot read ${path}: ${(cause as Error).message}`, {
      cause,
      hint: `Restore ${path}, or convert ${what} again with --force`,
    });
  }
  if (value?.schemaVersion !== 1 || !["lxc", "pve"].includes(value.format) || !Array.isArray(value.configLines)) {
    throw new Oci2LxcError("destination", `Cannot read ${path}: not an oci2lxc record of schema version 1`, {
      hint: `Restore ${path}, or convert ${what} again with --force`,
    });
  }
  return value;
}
