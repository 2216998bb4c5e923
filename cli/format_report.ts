/**
 * The human form of a {@linkcode ConversionReport}: the plan of `convert
 * --dry-run` and `inspect --plan`, and the summary of a real conversion. One
 * layout for both, in sections a person scans top to bottom: the image and
 * its digests, the container, what became of every image config field, the
 * network, the plugins, the warnings, the rootfs and the paths. A real
 * conversion adds what it read and wrote, the time it took, and how to start
 * the container. Long text wraps at 100 columns (not the terminal's width,
 * so the output is the same everywhere and golden tests can hold it).
 *
 * @module
 */
import type { ConversionReport } from "../core/conversion.ts";
import { STAGE_NAMES } from "../core/pipeline/stage_names.ts";
import { formatBytes } from "./format_bytes.ts";

const WIDTH = 100;
const LABEL = 11;

/** The report as text for people. */
export function formatReport(r: ConversionReport): string {
  const out: string[] = [];
  // Values that must stay whole (digests, the command, env) are not wrapped; prose is.
  const row = (label: string, value: string) => out.push(`  ${label.padEnd(LABEL)}${value}`.trimEnd());
  const prose = (label: string, value: string) => out.push(...wrap(value, `  ${label.padEnd(LABEL)}`));
  const c = r.container;
  const n = r.image.layers.length;

  out.push(
    r.dryRun
      ? `Would convert ${r.reference} into ${r.paths.dest} (dry run: nothing was written)`
      : `Converted ${r.reference} into ${r.paths.dest}`,
  );

  out.push("", "Image");
  row("transport", `${r.image.transport}${r.image.refName !== null ? `, ref ${r.image.refName}` : ""}`);
  row("platform", r.image.platform);
  row("manifest", r.image.manifestDigest);
  row("config", r.image.configDigest);
  for (const l of r.image.layers) {
    row(`layer ${l.index + 1}/${n}`, `${l.digest} (${formatBytes(l.size)})`);
    row("  diff_id", `${l.diffId} (${formatBytes(l.uncompressedSize)} tar)`);
  }
  if (r.image.reordered) prose("note", "the archive lists the layers in another order than the config's diff_ids");

  out.push("", `Container ${r.name}`);
  row("kind", c.kind === "app" ? "app (LXC's init runs the command)" : "system (the image's init is PID 1)");
  row("distro", `${r.distro.id}${r.distro.version ? ` ${r.distro.version}` : ""}`);
  row("command", JSON.stringify(c.argv));
  const groups = c.user.groups.length ? `, groups ${c.user.groups.join(",")}` : "";
  row(
    "user",
    `uid ${c.user.uid}, gid ${c.user.gid}${groups}${c.user.name ? ` (${c.user.name})` : ""}, home ${c.user.home}`,
  );
  row("workdir", c.cwd);
  row("stop", c.stopSignal);
  c.env.forEach(([k, v], i) => row(i === 0 ? "env" : "", `${k}=${v}`));
  if (c.env.length === 0) row("env", "none");
  row("volumes", c.volumes.length ? c.volumes.join(", ") : "none");
  if (c.mounts.length === 0) row("mounts", "none");
  c.mounts.forEach((m, i) =>
    row(i === 0 ? "mounts" : "", `${m.source} on ${m.target}${m.readOnly ? " (read-only)" : ""}`)
  );
  row(
    "idmap",
    c.idmap
      ? [
        ...c.idmap.uid.map((m) => `u:${m.container}:${m.host}:${m.size}`),
        ...c.idmap.gid.map((m) => `g:${m.container}:${m.host}:${m.size}`),
      ]
        .join(",")
      : "none (privileged)",
  );

  out.push("", "Image config fields");
  const width = Math.max(0, ...r.fields.map((f) => f.field.length));
  for (const f of r.fields) {
    const detail = [f.to ? `to ${f.to}` : "", f.reason ?? ""].filter(Boolean).join("; ");
    out.push(...wrap(detail, `  ${f.field.padEnd(width)}  ${f.status.padEnd(10)} `));
  }

  out.push("", "Network");
  if (c.network.length === 0) row("", "no lxc.net entries (LXC's default)");
  c.network.forEach((net, i) => prose(`lxc.net.${i}`, describeNetwork(net)));

  out.push("", "Plugins");
  if (r.plugins.length === 0) row("", "none took part");
  const pluginWidth = Math.max(LABEL, ...r.plugins.map((p) => p.name.length + 2));
  for (const p of r.plugins) out.push(...wrap(p.hooks.join(", "), `  ${p.name.padEnd(pluginWidth)}`));

  out.push("", "Warnings");
  if (r.warnings.length === 0) row("", "none");
  for (const w of r.warnings) out.push(...wrap(w, "  - "));

  out.push("", "Rootfs");
  const s = r.rootfs;
  prose(
    "entries",
    `${s.entries}: ${count(s.files, "file")} (${formatBytes(s.bytes)}), ${count(s.directories, "directory")}, ` +
      `${count(s.symlinks, "symlink")}, ${count(s.hardlinks, "hardlink")}, ${count(s.devices, "device")}, ` +
      `${count(s.whiteouts, "whiteout")}`,
  );
  row("config", r.paths.config);
  row("rootfs", r.paths.rootfs);

  if (!r.dryRun) {
    out.push("", "Work");
    const where = r.layerReader === "worker" ? "in a worker, beside the writes" : "on the main thread";
    row("read", `${formatBytes(r.bytesRead)} of layers, decompressed ${where}`);
    row("wrote", `${formatBytes(r.bytesWritten)} of files`);
    const stages = STAGE_NAMES.filter((s) => r.timings[s] !== undefined).map((s) => `${s} ${r.timings[s]} ms`);
    prose("time", `${((r.timings.total ?? 0) / 1000).toFixed(2)} s (${stages.join(", ")})`);
  }

  if (r.pve) {
    out.push("", `Proxmox VE template ${r.pve.template} and ${r.pve.conf}. On the Proxmox VE host:`);
    for (const step of r.pve.steps) out.push(`  ${step}`);
  } else if (!r.dryRun) {
    const slash = r.paths.dest.lastIndexOf("/");
    const lxcPath = slash > 0 ? r.paths.dest.slice(0, slash) : "/";
    out.push("", `Start it with: lxc-start -n ${r.paths.dest.slice(slash + 1)} -P ${lxcPath}`);
  }
  return out.join("\n");
}

/** `1 file`, `2 files`, `3 directories`. */
function count(n: number, noun: string): string {
  return `${n} ${n === 1 ? noun : noun.endsWith("y") ? `${noun.slice(0, -1)}ies` : `${noun}s`}`;
}

/** `veth: link=lxcbr0 name=eth0 …`, with words for the types that have no keys. */
function describeNetwork(net: ConversionReport["container"]["network"][number]): string {
  const keys = net.keys.map(([k, v]) => `${k}=${v}`).join(" ");
  if (net.type === "empty") return `empty (loopback only)${keys ? ` ${keys}` : ""}`;
  if (net.type === "none") return `none (the host's network)${keys ? ` ${keys}` : ""}`;
  return `${net.type}${keys ? `: ${keys}` : ""}`;
}

/** Word-wrap `text` after `prefix`, indenting the further lines to the prefix's width. */
function wrap(text: string, prefix: string): string[] {
  const room = Math.max(20, WIDTH - prefix.length);
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line && line.length + 1 + word.length > room) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  lines.push(line);
  const indent = " ".repeat(prefix.length);
  return lines.map((l, i) => `${i === 0 ? prefix : indent}${l}`.trimEnd());
}
