/**
 * `oci2lxc update DEST [IMAGE]`: convert the image (by default the reference DEST was made from, asked again) with
 * the options DEST was made with into a staging directory beside DEST, then swap it in as one generation: the
 * in-rootfs volume data moved across, the user's config edits applied, the old generation kept beside DEST for
 * `oci2lxc rollback`. The conversion's stages all run as for `convert`; only the commit is the generation swap.
 *
 * @module
 */
import { basename, dirname, join, resolve } from "node:path";
import type { ConversionContext, ConversionReport, ConvertOptions } from "../conversion.ts";
import { Oci2LxcError, throwIfInterrupted } from "../errors.ts";
import { open, type RegistryOptions } from "../open.ts";
import { convert } from "../api.ts";
import { acquireDestLock } from "../rootfs/dest_lock.ts";
import type { Staging } from "../rootfs/staging.ts";
import { configEdits, mergeConfigEdits, type MergedConfig } from "./config_lines.ts";
import { isRunning, refuseRunning, startContainer, stopContainer } from "./container_state.ts";
import { previousPath, recoverSwap, swapGeneration, type SwapKind } from "./generation_swap.ts";
import {
  newestPveRecord,
  optionsOf,
  PROVENANCE_FILE,
  type ProvenanceRecord,
  pveProvenanceFile,
  readProvenance,
} from "./provenance.ts";
import { generationReport, type UpdateReport } from "./update_report.ts";
import { type PlannedMoves, planVolumeMoves } from "./volume_moves.ts";
import { pathExists } from "../path_exists.ts";

const existsNoFollow = (path: string) => pathExists(path, { followLinks: false });

/** Options of {@linkcode updateContainer}. */
export interface UpdateOptions
  extends Pick<ConvertOptions, "plugins" | "selfCommand" | "onWarning" | "onProgress" | "signal" | "wait"> {
  /** The image; by default the reference DEST was made from (a `docker://` tag is asked again). */
  image?: string | undefined;
  /** Rebuild even when the image is the one DEST was made from. */
  force?: boolean | undefined;
  /** Generations kept besides the new one: 1 (default) or 0 (the old one is removed after success). */
  keep?: 0 | 1 | undefined;
  /** A running container is stopped, updated and started again (otherwise refused). */
  restart?: boolean | undefined;
  /**
   * For `docker://`: credentials, TLS, the blob cache, `pull`, mirrors and `maxParallel`, used both to ask whether the
   * image is new and to convert it (the CLI's fetch options, as `convert` takes them).
   */
  registry?: RegistryOptions | undefined;
  /** For a Proxmox VE output directory: the id of the new container (the old one stays until you remove it). */
  vmid?: number | undefined;
}

/** Take DEST's lock, finish or undo a swap a killed run left, and let go. */
export async function withRecoveredDest<T>(
  dest: string,
  options: { wait?: boolean | undefined; signal?: AbortSignal | undefined },
  warn: (message: string) => void,
  fn: () => T | Promise<T>,
): Promise<T> {
  const lock = await acquireDestLock(dirname(dest), basename(dest), { wait: options.wait, signal: options.signal });
  try {
    for (const line of await recoverSwap(dest)) warn(line);
    return await fn();
  } finally {
    lock.release();
  }
}

/** A Proxmox VE output directory's newest record (`VMID.oci2lxc.json`); undefined for a container directory. */
function pveRecordOf(absDest: string): string | undefined {
  return existsNoFollow(join(absDest, PROVENANCE_FILE)) ? undefined : newestPveRecord(absDest);
}

/**
 * The reference `oci2lxc update DEST [IMAGE]` converts from: `image`, else the one DEST's record names (for a Proxmox
 * VE output directory, its newest record's). Read without DEST's lock, for what must be known before the update starts
 * (the progress view: do the layers come from a registry?); undefined when there is no readable record, which the
 * update itself then reports.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { updateReference } from "./update_container.ts";
 * assert.equal(updateReference("/nonexistent", "docker://registry.example/app:2"), "docker://registry.example/app:2");
 * assert.equal(updateReference("/nonexistent"), undefined);
 * ```
 */
export function updateReference(dest: string, image?: string): string | undefined {
  if (image !== undefined) return image;
  const absDest = resolve(dest);
  const pveRecord = pveRecordOf(absDest);
  try {
    return readProvenance(absDest, absDest, pveRecord === undefined ? PROVENANCE_FILE : basename(pveRecord)).reference;
  } catch {
    return undefined;
  }
}

/**
 * Update the LXC container directory `dest` to a newer image, keeping its data.
 *
 * @throws {Oci2LxcError} code "destination" without a record (`oci2lxc.json`), for a running container without
 *   `restart`; any error of a conversion (DEST is then as it was)
 */
export async function updateContainer(dest: string, options: UpdateOptions = {}): Promise<UpdateReport> {
  const absDest = resolve(dest);
  const warnings: string[] = [];
  const warn = (message: string) => {
    warnings.push(message);
    options.onWarning?.(message);
  };
  if (options.keep !== undefined && options.keep !== 0 && options.keep !== 1) {
    throw new Oci2LxcError("usage", `Cannot keep ${options.keep} generations: one back is kept, or none`, {
      hint: "Pass --keep 1 (the default) or --keep 0",
    });
  }
  const pveRecord = pveRecordOf(absDest);
  if (pveRecord !== undefined) return await updatePve(absDest, basename(pveRecord), options, warn, warnings);
  const old = await withRecoveredDest(absDest, options, warn, () => readProvenance(absDest));
  const mustRestart = refuseRunning(absDest, "update", options.restart ?? false);
  const reference = options.image ?? old.reference;

  if (!options.force && await isUpToDate(reference, old, options)) return upToDateReport(absDest, old, warnings);

  if (mustRestart) stopContainer(absDest);
  let restarted = false;
  try {
    const result = await convertInto(absDest, reference, old, options, warn);
    if (mustRestart) {
      startContainer(absDest);
      restarted = true;
    }
    return { ...result, restarted, warnings };
  } catch (err) {
    // DEST is as it was: start it again as it was.
    if (mustRestart && !isRunning(absDest)) startContainer(absDest);
    throw err;
  }
}

async function convertInto(
  dest: string,
  reference: string,
  old: ProvenanceRecord,
  options: UpdateOptions,
  warn: (message: string) => void,
): Promise<Omit<UpdateReport, "restarted" | "warnings">> {
  // The hand edits are read before anything is staged: the config as the user left it.
  const edits = configEdits(old.configLines, Deno.readTextFileSync(join(dest, "config")));
  let merged: MergedConfig | undefined;
  let planned: PlannedMoves | undefined;
  let swap: SwapKind | undefined;
  const after = options.keep === 0 ? "drop" : "keep";
  const swapIn = async (staging: Staging, context: ConversionContext) => {
    // The last moment to stop with DEST untouched: two timer turns, always (letEventLoopRun pauses only once in
    // 200 ms, and a small image converts in less), so a Ctrl-C from any time before is seen here.
    if (options.signal) {
      await new Promise((resolve) => setTimeout(resolve, 0));
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
    throwIfInterrupted(options.signal, "update the container", "before the swap");
    const configPath = join(staging.path, "config");
    merged = mergeConfigEdits(Deno.readTextFileSync(configPath), edits);
    Deno.writeTextFileSync(configPath, merged.text);
    // The staging directory is 0700 while it fills; the container directory keeps the mode it had.
    Deno.chmodSync(staging.path, Deno.statSync(dest).mode! & 0o7777);
    const newVolumes = context.plan.volumes.filter((v) => !v.bound).map((v) => v.path);
    planned = planVolumeMoves(dest, old.volumes, staging.path, newVolumes, context.warn);
    // From here the staging directory is the swap's: it holds moved data until the swap, then the old generation.
    staging.release();
    swap = await swapGeneration(dest, staging.path, planned.moves, after);
  };
  const conversion: ConversionReport = await convert(reference, dest, {
    ...optionsOf(old),
    force: true,
    wait: options.wait,
    registry: options.registry,
    plugins: options.plugins,
    selfCommand: options.selfCommand,
    onProgress: options.onProgress,
    onWarning: warn,
    signal: options.signal,
    swapIn,
  });
  const now = readProvenance(dest);
  for (const c of merged?.conflicts ?? []) {
    warn(`kept your config line ${c.kept}, though the new image's config says ${c.image || "nothing for that key"}`);
  }
  for (const v of planned?.aside ?? []) {
    warn(`the image no longer declares the volume ${v}: its data is kept in ${dest}/volumes-aside, not deleted`);
  }
  // `restarted` and `warnings` are the caller's to fill in.
  return {
    ...generationReport("update", dest, old, now, []),
    volumesCarried: planned?.carried ?? [],
    volumesAside: planned?.aside ?? [],
    configKept: merged?.kept ?? [],
    configConflicts: merged?.conflicts ?? [],
    previous: after === "keep" ? previousPath(dest) : null,
    swap: swap ?? null,
    conversion,
    pve: null,
  };
}

/** Whether `reference` still names the image `old` was made from (its manifest digest; nothing else is read). */
async function isUpToDate(reference: string, old: ProvenanceRecord, options: UpdateOptions): Promise<boolean> {
  // Only the manifest is compared: the layers this open would announce are the conversion's to announce (onLayer),
  // and none is downloaded here (nothing starts before a layer is read).
  const registry = options.registry && { ...options.registry, onLayer: undefined, onDownload: undefined };
  const image = await open(reference, { platform: old.options.platform, registry, signal: options.signal });
  try {
    return image.manifest.digest === old.image.manifestDigest;
  } finally {
    image.close();
  }
}

/**
 * A Proxmox VE output directory: the container lives in Proxmox VE's storage, out of our reach. What can be done
 * safely is done: a new template and conf for a new container id, written beside the old ones, and the `pct` steps
 * that move the old container's mount points (its volume data) to the new one and start it; the old container stays
 * as the way back (docs/proxmox.md, "Updating a container").
 */
async function updatePve(
  dest: string,
  recordFile: string,
  options: UpdateOptions,
  warn: (message: string) => void,
  warnings: string[],
): Promise<UpdateReport> {
  const old = readProvenance(dest, dest, recordFile);
  const from = old.pve!.vmid;
  const to = options.vmid;
  if (to === undefined || to === from) {
    throw new Oci2LxcError("usage", `Cannot update the Proxmox VE container ${from} in ${dest} without a new id`, {
      hint: `Pass --vmid N (not ${from}): the new container is created beside the old one, which stays as the way back`,
    });
  }
  const reference = options.image ?? old.reference;
  if (!options.force && await isUpToDate(reference, old, options)) return upToDateReport(dest, old, warnings);
  const conversion = await convert(reference, dest, {
    ...optionsOf(old),
    vmid: to,
    // The new template takes the old one's name and place (the old container was made from its copy on the host); the
    // new id's files are new, replaced only with --force (core/output/pve_dest_files.ts).
    replaceTemplate: true,
    force: options.force,
    registry: options.registry,
    plugins: options.plugins,
    selfCommand: options.selfCommand,
    onProgress: options.onProgress,
    onWarning: warn,
    signal: options.signal,
  });
  const now = readProvenance(dest, dest, pveProvenanceFile(to));
  const create = (conversion.pve?.steps ?? []).filter((s) => s !== `pct start ${to}`);
  const moves = old.volumes.map((v, i) =>
    `pct move-volume ${from} mp${i} --target-vmid ${to} --target-volume mp${i}   # ${v}: check the mp number with 'pct config ${from}'`
  );
  const back = old.volumes.map((_, i) => `pct move-volume ${to} mp${i} --target-vmid ${from} --target-volume mp${i}`);
  return {
    ...generationReport("update", dest, old, now, warnings),
    conversion,
    pve: {
      vmid: { from, to },
      steps: [
        ...create,
        `# carry over what you changed in /etc/pve/lxc/${from}.conf by hand (pct config ${from})`,
        `pct stop ${from}`,
        ...moves,
        `pct start ${to}`,
      ],
      rollback: [`pct stop ${to}`, ...back, `pct start ${from}`],
    },
  };
}

function upToDateReport(dest: string, old: ProvenanceRecord, warnings: string[]): UpdateReport {
  return { ...generationReport("update", dest, old, old, warnings), upToDate: true };
}
