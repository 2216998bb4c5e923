/**
 * The report of `oci2lxc update` and `oci2lxc rollback`: what changed between the two generations (image and
 * config digests, Env, command, user, working directory, stop signal, volumes, the user's config lines kept or in
 * conflict), how the swap was made, and the conversion's own report for an update that converted.
 *
 * @module
 */
import type { ConversionReport } from "../conversion.ts";
import type { ProvenanceRecord } from "./provenance.ts";
import type { SwapKind } from "./generation_swap.ts";

type Container = ProvenanceRecord["container"];

/** A value before and after, or null when it did not change. */
export type Change<T> = { from: T; to: T } | null;

/** What changed from one generation to the other. */
export interface GenerationChanges {
  reference: Change<string>;
  manifestDigest: Change<string>;
  configDigest: Change<string>;
  env: { added: Array<[string, string]>; removed: string[]; changed: Array<[string, string, string]> };
  argv: Change<string[]>;
  user: Change<string>;
  cwd: Change<string>;
  stopSignal: Change<string>;
  volumesAdded: string[];
  volumesRemoved: string[];
}

/** The report of an update or a rollback. */
export interface UpdateReport {
  schemaVersion: 1;
  action: "update" | "rollback";
  /** Absolute DEST. */
  dest: string;
  /** The image is the one DEST was made from, and nothing was rewritten (no `--force`). */
  upToDate: boolean;
  /** What DEST was and is now: reference and digests. */
  from: { reference: string; manifestDigest: string; configDigest: string };
  to: { reference: string; manifestDigest: string; configDigest: string };
  changes: GenerationChanges;
  /** Volume data moved into the new rootfs (container paths). */
  volumesCarried: string[];
  /** Volumes the new image no longer declares: their data is kept in DEST/volumes-aside, never deleted. */
  volumesAside: string[];
  /** The user's config lines (added or changed by hand since the conversion) kept in the new config. */
  configKept: string[];
  /** Hand-edited lines whose key the new image changed too: the user's line was kept. */
  configConflicts: Array<{ key: string; kept: string; image: string }>;
  /** Where the other generation is kept (`DIR/.NAME.oci2lxc-previous`), or null (`--keep 0`, or up to date). */
  previous: string | null;
  /** `exchange`: one atomic rename; `renames`: the filesystem cannot exchange, DEST was missing for a moment. */
  swap: SwapKind | null;
  /** The container was stopped and started again (`--restart`). */
  restarted: boolean;
  warnings: string[];
  /** The conversion of the new image, for an update that converted; null otherwise. */
  conversion: ConversionReport | null;
  /**
   * A Proxmox VE output directory: the old and new container ids, the steps to run on the Proxmox VE host (create the
   * new container, move the old one's mount points to it, start it) and the steps back. Null for LXC.
   */
  pve: { vmid: { from: number; to: number }; steps: string[]; rollback: string[] } | null;
}

/**
 * The report of moving DEST from generation `from` to generation `to`, with nothing carried, kept or swapped yet: each
 * caller (update, up-to-date update, Proxmox VE update, rollback) overrides what it did.
 */
export function generationReport(
  action: UpdateReport["action"],
  dest: string,
  from: ProvenanceRecord,
  to: ProvenanceRecord,
  warnings: string[],
): UpdateReport {
  return {
    schemaVersion: 1,
    action,
    dest,
    upToDate: false,
    from: identity(from),
    to: identity(to),
    changes: generationChanges(from, to),
    volumesCarried: [],
    volumesAside: [],
    configKept: [],
    configConflicts: [],
    previous: null,
    swap: null,
    restarted: false,
    warnings,
    conversion: null,
    pve: null,
  };
}

function identity(r: ProvenanceRecord): UpdateReport["from"] {
  return { reference: r.reference, manifestDigest: r.image.manifestDigest, configDigest: r.image.configDigest };
}

function change<T>(from: T, to: T): Change<T> {
  return JSON.stringify(from) === JSON.stringify(to) ? null : { from, to };
}

function userText(u: Container["user"]): string {
  return `${u.name ?? u.uid} (${u.uid}:${u.gid})`;
}

/** What changed from generation `a` to generation `b`. */
export function generationChanges(a: ProvenanceRecord, b: ProvenanceRecord): GenerationChanges {
  const before = new Map(a.container.env);
  const after = new Map(b.container.env);
  return {
    reference: change(a.reference, b.reference),
    manifestDigest: change(a.image.manifestDigest, b.image.manifestDigest),
    configDigest: change(a.image.configDigest, b.image.configDigest),
    env: {
      added: [...after].filter(([k]) => !before.has(k)),
      removed: [...before.keys()].filter((k) => !after.has(k)),
      changed: [...after].filter(([k, v]) => before.has(k) && before.get(k) !== v).map(([k, v]) => [
        k,
        before.get(k)!,
        v,
      ]),
    },
    argv: change(a.container.argv, b.container.argv),
    user: change(userText(a.container.user), userText(b.container.user)),
    cwd: change(a.container.cwd, b.container.cwd),
    stopSignal: change(a.container.stopSignal, b.container.stopSignal),
    volumesAdded: b.volumes.filter((v) => !a.volumes.includes(v)),
    volumesRemoved: a.volumes.filter((v) => !b.volumes.includes(v)),
  };
}

/** The human form of an update or rollback report (the warnings went to stderr as they came). */
export function formatUpdateReport(r: UpdateReport): string {
  const lines: string[] = [];
  if (r.upToDate) {
    return `${r.dest} is up to date: ${r.to.reference} is still ${r.to.manifestDigest}; nothing was rewritten ` +
      "(--force rebuilds it)\n";
  }
  const verb = r.action === "update" ? "Updated" : "Rolled back";
  lines.push(`${verb} ${r.dest}: ${r.from.reference} → ${r.to.reference}`);
  const c = r.changes;
  if (c.manifestDigest) lines.push(`  manifest ${c.manifestDigest.from} → ${c.manifestDigest.to}`);
  if (c.configDigest) lines.push(`  config   ${c.configDigest.from} → ${c.configDigest.to}`);
  for (const [k, v] of c.env.added) lines.push(`  env +${k}=${v}`);
  for (const k of c.env.removed) lines.push(`  env -${k}`);
  for (const [k, from, to] of c.env.changed) lines.push(`  env ${k}: ${from} → ${to}`);
  if (c.argv) lines.push(`  command ${JSON.stringify(c.argv.from)} → ${JSON.stringify(c.argv.to)}`);
  if (c.user) lines.push(`  user ${c.user.from} → ${c.user.to}`);
  if (c.cwd) lines.push(`  workdir ${c.cwd.from} → ${c.cwd.to}`);
  if (c.stopSignal) lines.push(`  stop signal ${c.stopSignal.from} → ${c.stopSignal.to}`);
  for (const v of c.volumesAdded) lines.push(`  volume added ${v}`);
  for (const v of r.volumesCarried) lines.push(`  volume data carried over: ${v}`);
  for (const v of r.volumesAside) lines.push(`  volume no longer in the image, kept aside: ${v}`);
  for (const l of r.configKept) lines.push(`  config line kept: ${l}`);
  for (const k of r.configConflicts) {
    lines.push(`  config conflict: kept ${k.kept} (the new image says ${k.image || "nothing for this key"})`);
  }
  if (r.pve) {
    lines.push(`  Proxmox VE: run on the host, to move container ${r.pve.vmid.from}'s data to ${r.pve.vmid.to}:`);
    for (const s of r.pve.steps) lines.push(`    ${s}`);
    lines.push(`  and to go back (container ${r.pve.vmid.from} is untouched until you destroy it):`);
    for (const s of r.pve.rollback) lines.push(`    ${s}`);
  }
  if (r.previous) lines.push(`  previous generation kept in ${r.previous} ('oci2lxc rollback ${r.dest}')`);
  if (r.swap === "renames") lines.push("  swap: two renames (this filesystem cannot exchange directories atomically)");
  if (r.restarted) lines.push("  the container was restarted");
  return lines.join("\n") + "\n";
}
