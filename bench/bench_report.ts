/**
 * Turns the runs into what people read: medians with min/max per tool and
 * image, our ratios to the others, and the targets met or missed.
 *
 * @module
 */

import { type Measurement, spread } from "./measure_command.ts";

/** How a tool fared on one image over all rounds. */
export interface CaseResult {
  image: string;
  tool: string;
  label: string;
  ours: boolean;
  status: "ok" | "unsupported" | "failed";
  /** Why not ok: the tool's own message. */
  error?: string;
  runs: Measurement[];
  wall?: Spread;
  cpu?: Spread;
  user?: Spread;
  sys?: Spread;
  rssMiB?: Spread;
}

/** Median, min and max. */
export interface Spread {
  median: number;
  min: number;
  max: number;
}

/** One of the targets. */
export interface TargetResult {
  name: string;
  /** The rule, e.g. "≤ 1.3". */
  target: string;
  measured: number;
  met: boolean;
}

/** Fill in the spreads of a case from its runs. */
export function summarize(result: CaseResult): CaseResult {
  if (result.runs.length === 0) return result;
  return {
    ...result,
    wall: spread(result.runs.map((r) => r.wall)),
    cpu: spread(result.runs.map((r) => r.user + r.sys)),
    user: spread(result.runs.map((r) => r.user)),
    sys: spread(result.runs.map((r) => r.sys)),
    rssMiB: spread(result.runs.map((r) => r.rssMiB)),
  };
}

function find(results: CaseResult[], image: string, tool: string): CaseResult | undefined {
  const r = results.find((c) => c.image === image && c.tool === tool);
  return r?.status === "ok" ? r : undefined;
}

/** The targets, for each of our entry points that ran. */
export function evaluateTargets(results: CaseResult[], ourTools: string[]): TargetResult[] {
  const out: TargetResult[] = [];
  const wall = (image: string, tool: string) => find(results, image, tool)?.wall?.median;
  const rss = (image: string, tool: string) => find(results, image, tool)?.rssMiB?.median;
  const add = (name: string, target: string, measured: number | undefined, ok: (v: number) => boolean) => {
    if (measured !== undefined && Number.isFinite(measured)) out.push({ name, target, measured, met: ok(measured) });
  };
  for (const tool of ourTools) {
    const ratio = (a?: number, b?: number) => a !== undefined && b !== undefined ? a / b : undefined;
    for (const scale of ["1x", "4x"]) {
      add(
        `${tool} ${scale}-gzip / floor (wall)`,
        "≤ 1.3",
        ratio(wall(`${scale}-gzip`, tool), wall(`${scale}-gzip`, "floor")),
        (v) => v <= 1.3,
      );
      add(
        `umoci unpack / ${tool} ${scale}-gzip (wall)`,
        "≥ 2",
        ratio(wall(`${scale}-gzip`, "umoci"), wall(`${scale}-gzip`, tool)),
        (v) => v >= 2,
      );
      add(
        `${tool} ${scale}-zstd / floor (wall)`,
        "≤ 1.5",
        ratio(wall(`${scale}-zstd`, tool), wall(`${scale}-zstd`, "floor")),
        (v) => v <= 1.5,
      );
    }
    for (const c of ["gzip", "zstd"]) {
      add(
        `${tool} 4x-${c} / 1x-${c} (wall)`,
        "≤ 4.5",
        ratio(wall(`4x-${c}`, tool), wall(`1x-${c}`, tool)),
        (v) => v <= 4.5,
      );
      add(
        `${tool} 4x-${c} / 1x-${c} (peak RSS)`,
        "≤ 1.1",
        ratio(rss(`4x-${c}`, tool), rss(`1x-${c}`, tool)),
        (v) => v <= 1.1,
      );
      add(`${tool} 4x-${c} peak RSS (MiB)`, "< 200", rss(`4x-${c}`, tool), (v) => v < 200);
    }
  }
  return out;
}

const pad = (s: string, n: number) => s.length >= n ? s : s + " ".repeat(n - s.length);
const padl = (s: string, n: number) => s.length >= n ? s : " ".repeat(n - s.length) + s;

/** The terminal table: one line per image and tool. */
export function formatTable(results: CaseResult[], referenceTool: string): string {
  const lines: string[] = [];
  const header = [
    pad("image", 8),
    pad("tool", 28),
    padl("wall s", 7),
    padl("(min–max)", 13),
    padl("cpu s", 7),
    padl("user", 6),
    padl("sys", 6),
    padl("RSS MiB", 8),
    padl("÷ floor", 8),
    padl(`÷ ${referenceTool}`, 10),
  ].join(" ");
  lines.push(header, "-".repeat(header.length));
  let lastImage = "";
  for (const r of results) {
    if (lastImage && r.image !== lastImage) lines.push("");
    lastImage = r.image;
    const head = `${pad(r.image, 8)} ${pad(r.label, 28)}`;
    if (r.status !== "ok" || !r.wall || !r.cpu || !r.user || !r.sys || !r.rssMiB) {
      const why = r.status === "unsupported" ? (r.error ?? "").split(". exit")[0]! : (r.error ?? "").split("\n")[0]!;
      lines.push(`${head} ${r.status}: ${why.slice(0, 100)}`);
      continue;
    }
    const floor = find(results, r.image, "floor")?.wall?.median;
    const ref = find(results, r.image, referenceTool)?.wall?.median;
    const x = (v: number | undefined) => v === undefined ? "" : `${v.toFixed(2)}×`;
    lines.push([
      head,
      padl(r.wall.median.toFixed(2), 7),
      padl(`(${r.wall.min.toFixed(2)}–${r.wall.max.toFixed(2)})`, 13),
      padl(r.cpu.median.toFixed(2), 7),
      padl(r.user.median.toFixed(2), 6),
      padl(r.sys.median.toFixed(2), 6),
      padl(r.rssMiB.median.toFixed(0), 8),
      padl(x(floor === undefined ? undefined : r.wall.median / floor), 8),
      padl(x(ref === undefined ? undefined : r.wall.median / ref), 10),
    ].join(" "));
  }
  return lines.join("\n");
}

/** The targets as lines with a mark. */
export function formatTargets(targets: TargetResult[]): string {
  return targets.map((t) =>
    `${t.met ? "met   " : "MISSED"} ${pad(t.name, 48)} ${padl(t.measured.toFixed(2), 7)}  (target ${t.target})`
  ).join("\n");
}
