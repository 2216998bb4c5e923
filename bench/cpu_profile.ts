/**
 * Reads a V8 `.cpuprofile` (what `deno run --cpu-prof` writes) and says
 * where the time went, by stage of our pipeline.
 *
 * A sample is charged to the stage of the innermost frame that belongs to
 * oci2lxc's core/ (walking up from the sampled frame), so time inside an
 * FFI call (libz, libzstd, libc) lands on the JS function that made the
 * call, and time in `node:crypto` lands on `Hasher.update`.
 *
 * @module
 */

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

/** The parts of a `.cpuprofile` we read. */
export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Milliseconds per stage and per function. */
export interface ProfileSummary {
  totalMs: number;
  stages: { stage: string; ms: number; share: number }[];
  functions: { name: string; stage: string; ms: number; share: number }[];
}

const STAGES: [RegExp, string][] = [
  [/\/core\/layer\/(gzip|zstd)_decompressor\.ts$/, "decompression (libz/libzstd via FFI)"],
  [/\/core\/digest\.ts$/, "hashing (sha256, node:crypto)"],
  [/\/core\/native\/libc\.ts$/, "syscalls (libc via FFI)"],
  [/\/core\/tar\//, "tar parsing"],
  [/\/core\/rootfs\//, "rootfs writer (JS)"],
  [/\/core\/image\/range_reader\.ts$/, "reading the blob"],
  [/\/core\/layer\//, "layer plumbing (JS)"],
];

function stageOf(url: string): string | undefined {
  for (const [re, stage] of STAGES) if (re.test(url)) return stage;
  return undefined;
}

/** Where `profile`'s samples went, by stage and by function (top `top`). */
export function summarizeProfile(profile: CpuProfile, top = 25): ProfileSummary {
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const n of profile.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const stages = new Map<string, number>();
  const functions = new Map<string, { stage: string; us: number }>();
  let total = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id)!;
    const leaf = node.callFrame;
    let stage: string | undefined;
    for (let at: number | undefined = id; at !== undefined && stage === undefined; at = parent.get(at)) {
      stage = stageOf(byId.get(at)!.callFrame.url);
    }
    if (stage === undefined) {
      if (leaf.functionName === "(garbage collector)") stage = "garbage collector";
      else if (leaf.functionName === "(idle)") stage = "idle";
      else stage = "startup, plan, config and other";
    }
    stages.set(stage, (stages.get(stage) ?? 0) + us);
    const file = leaf.url.split("/").at(-1) ?? "";
    const name = `${leaf.functionName || "(anonymous)"}${file ? ` ${file}:${leaf.lineNumber + 1}` : ""}`;
    const f = functions.get(name) ?? { stage, us: 0 };
    f.us += us;
    functions.set(name, f);
    total += us;
  }
  const share = (us: number) => total === 0 ? 0 : us / total;
  return {
    totalMs: total / 1000,
    stages: [...stages].sort((a, b) => b[1] - a[1]).map(([stage, us]) => ({ stage, ms: us / 1000, share: share(us) })),
    functions: [...functions].sort((a, b) => b[1].us - a[1].us).slice(0, top).map(([name, f]) => ({
      name,
      stage: f.stage,
      ms: f.us / 1000,
      share: share(f.us),
    })),
  };
}
