/**
 * `deno task bench`: times oci2lxc against the tools people use today and
 * against the floor GNU tar sets, on a realistic Debian image at 1× and 4×
 * size, gzip and zstd. Run as root (umoci and our convert set owners).
 *
 * Every round runs every tool once per image, in an order that rotates
 * from round to round; each run extracts into a fresh directory on a
 * journaled ext4 scratch filesystem (see scratch_fs.ts), which is removed
 * and synced before the next run. Prints a table and writes
 * bench/results.json.
 *
 * Flags:
 *   --runs N         rounds (default 5)
 *   --scales LIST    1x,4x (default both)
 *   --main PATH      the main.ts to time (default this checkout's)
 *   --also NAME=PATH another main.ts timed in the same rounds (a prototype), repeatable
 *   --tools LIST     only these tool ids (oci2lxc,oci2lxc-bundle,skopeo-umoci,umoci,floor)
 *   --out FILE       results file (default bench/results.json)
 *   --cache DIR      image cache (default $OCI2LXC_BENCH_CACHE, $XDG_CACHE_HOME/oci2lxc-bench, /var/cache/oci2lxc-bench)
 *   --work DIR       extract there instead of the scratch ext4 (see scratch_fs.ts for why not)
 *   --rebuild        build the images again
 *
 * @module
 */

import { parseArgs } from "node:util";
import { type BenchImages, defaultCacheDir, ensureImages, type ImageFiles } from "./bench_images.ts";
import { type BenchTool, benchTools } from "./bench_tools.ts";
import { type CaseResult, evaluateTargets, formatTable, formatTargets, summarize } from "./bench_report.ts";
import { measureCommand } from "./measure_command.ts";
import { openScratchFs } from "./scratch_fs.ts";
import { bash, exists, q, removeTree, run } from "./shell.ts";

const REPO = new URL("..", import.meta.url).pathname.replace(/\/$/, "");

/** Tool → Debian package, installed with apt-get when missing. */
const NEEDED: Record<string, string> = {
  debootstrap: "debootstrap",
  umoci: "umoci",
  skopeo: "skopeo",
  zstd: "zstd",
  gzip: "gzip",
  tar: "tar",
  "/usr/bin/time": "time",
  "mkfs.ext4": "e2fsprogs",
  findmnt: "util-linux",
};

function ensureTools(log: (s: string) => void): void {
  const missing = Object.entries(NEEDED).filter(([tool]) =>
    tool.startsWith("/") ? !exists(tool) : bash(`command -v ${q(tool)} || true`).trim() === ""
  ).map(([, pkg]) => pkg);
  if (missing.length === 0) return;
  log(`installing ${missing.join(" ")} with apt-get`);
  run(["apt-get", "install", "-y", "--no-install-recommends", ...new Set(missing)], {
    env: { DEBIAN_FRONTEND: "noninteractive" },
  });
}

function versions(): Record<string, string> {
  const first = (cmd: string) => {
    try {
      return bash(`${cmd} 2>&1 | head -1`).trim();
    } catch {
      return "unknown";
    }
  };
  return {
    deno: first("deno --version"),
    umoci: first("umoci --version"),
    skopeo: first("skopeo --version"),
    tar: first("tar --version"),
    gzip: first("gzip --version"),
    zstd: first("zstd --version"),
    kernel: first("uname -r"),
    cpu: first("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"),
    cpus: String(navigator.hardwareConcurrency),
  };
}

interface ImageCase {
  name: string;
  files: ImageFiles;
  tarBytes: number;
  entries: number;
}

function imageCases(images: BenchImages, scales: string[]): ImageCase[] {
  const out: ImageCase[] = [];
  for (const v of images.variants) {
    if (!scales.includes(v.scale)) continue;
    for (const files of [v.gzip, v.zstd]) {
      out.push({ name: `${v.scale}-${files.compression}`, files, tarBytes: v.tarBytes, entries: v.entries });
    }
  }
  return out;
}

function main(): number {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      runs: { type: "string", default: "5" },
      scales: { type: "string", default: "1x,4x" },
      main: { type: "string", default: `${REPO}/main.ts` },
      out: { type: "string", default: `${REPO}/bench/results.json` },
      cache: { type: "string", default: defaultCacheDir() },
      work: { type: "string" },
      rebuild: { type: "boolean", default: false },
      also: { type: "string", multiple: true, default: [] },
      tools: { type: "string" },
    },
  });
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1) throw new RangeError(`Cannot run the benchmark: --runs ${values.runs}`);
  const scales = values.scales.split(",").map((s) => s.trim());
  const started = performance.now();
  const log = (s: string) => console.error(`[${((performance.now() - started) / 1000).toFixed(0).padStart(4)} s] ${s}`);
  if (Deno.uid() !== 0) {
    console.error("The benchmark runs as root: umoci, tar and oci2lxc set owners and devices.");
    return 2;
  }

  ensureTools(log);
  const loadStart = loadAverage();
  const images = ensureImages(values.cache, { rebuild: values.rebuild, log });
  log(`images in ${values.cache} (base: ${images.baseSource})`);
  const scratch = openScratchFs(values.cache, values.work);
  log(`extracting on ${scratch.description}`);
  const tmp = Deno.makeTempDirSync({ prefix: "oci2lxc-bench-" });
  try {
    const bundle = `${tmp}/oci2lxc.js`;
    const mainTs = values.main;
    if (values.tools === undefined || values.tools.includes("oci2lxc-bundle")) {
      run(["deno", "bundle", "--quiet", "--platform", "deno", "-o", bundle, mainTs]);
    }
    const extra = values.also.map((spec) => {
      const eq = spec.indexOf("=");
      if (eq <= 0) throw new RangeError(`Cannot read --also ${spec}: expected NAME=PATH/main.ts`);
      return { name: spec.slice(0, eq), main: spec.slice(eq + 1) };
    });
    const only = values.tools?.split(",").map((t) => t.trim());
    const tools = benchTools(mainTs, bundle, extra).filter((t) =>
      only === undefined || only.includes(t.id) || (t.id.startsWith("oci2lxc:") && only.includes("also"))
    );
    const cases = imageCases(images, scales);
    // Every input in the page cache: all tools then read from memory.
    bash(cases.flatMap((c) => [c.files.archive, ...c.files.layers]).map((f) => `cat ${q(f)} > /dev/null`).join("\n"));

    const results = new Map<string, CaseResult>();
    const key = (image: string, tool: string) => `${image} ${tool}`;
    for (const c of cases) {
      for (const t of tools) {
        results.set(key(c.name, t.id), {
          image: c.name,
          tool: t.id,
          label: t.label,
          ours: t.ours,
          status: "ok",
          runs: [],
        });
      }
    }
    let serial = 0;
    const once = (c: ImageCase, t: BenchTool, record: boolean) => {
      const result = results.get(key(c.name, t.id))!;
      if (result.status !== "ok") return;
      const dest = `${scratch.dir}/run-${++serial}`;
      removeTree(dest);
      Deno.mkdirSync(dest);
      run(["sync"]); // the previous run's writeback must not land in this one
      const r = measureCommand(t.command(c.files, dest));
      removeTree(dest);
      if (!r.ok) {
        const reason = t.unsupported?.(c.files.compression);
        result.status = reason ? "unsupported" : "failed";
        result.error = `${reason ? `${reason}. ` : ""}exit ${r.code}: ${r.stderr.split("\n").slice(-3).join(" ")}`;
        log(`${c.name} ${t.id}: ${result.status}: ${result.error}`);
        return;
      }
      if (record) result.runs.push(r.measurement);
      const m = r.measurement;
      log(
        `${record ? "" : "warm-up "}${c.name} ${t.id}: ${m.wall.toFixed(2)} s wall, ${
          (m.user + m.sys).toFixed(2)
        } s cpu, ${m.rssMiB.toFixed(0)} MiB`,
      );
    };

    const warm = cases[0];
    if (warm) { for (const t of tools) once(warm, t, false); }
    for (let round = 0; round < runs; round++) {
      log(`round ${round + 1}/${runs}`);
      for (const c of cases) {
        // Rotate the order so no tool always runs right after the same other one.
        const order = tools.map((_, i) => tools[(i + round) % tools.length]!);
        for (const t of order) once(c, t, true);
      }
    }

    const list = [...results.values()].map(summarize);
    const ours = tools.filter((t) => t.ours).map((t) => t.id);
    const targets = evaluateTargets(list, ours);
    const table = formatTable(list, "oci2lxc");
    console.log(`\n${table}\n\nTargets (issue 7), medians of ${runs} runs:\n${formatTargets(targets)}`);
    const output = {
      date: new Date().toISOString(),
      runs,
      seconds: Math.round((performance.now() - started) / 1000),
      machine: versions(),
      filesystem: scratch.description,
      baseSource: images.baseSource,
      oci2lxc: { main: mainTs, commit: gitHead(), bundle: "deno bundle --platform deno", also: values.also },
      load: { start: loadStart, end: loadAverage() },
      notes: [
        "wall: our clock around /usr/bin/time; cpu = user + sys of the command and its children; RSS: largest single process",
        "floor: `gzip -dc | tar -x` / `zstd -dc | tar -x` per layer blob in order: no whiteouts, no digest checks",
        "skopeo-umoci: `skopeo copy oci-archive:… oci:…` then `umoci unpack` (what lxc-oci does as root)",
        "umoci 0.4.7 cannot read zstd layers: its zstd cases are reported unsupported",
        "inputs are read from the page cache (pre-read); each run extracts into a fresh directory, removed and synced after",
      ],
      images: cases.map((c) => ({
        name: c.name,
        layers: c.files.layers.length,
        compressedBytes: c.files.compressedBytes,
        tarBytes: c.tarBytes,
        entries: c.entries,
      })),
      results: list,
      targets,
    };
    Deno.writeTextFileSync(values.out, JSON.stringify(output, round3, 2) + "\n");
    log(`wrote ${values.out}`);
    return list.some((r) => r.status === "failed") ? 1 : 0;
  } finally {
    removeTree(tmp);
    scratch.close();
  }
}

/** The 1, 5 and 15 minute load averages: other work on a shared machine shows here. */
function loadAverage(): number[] {
  return Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).map(Number);
}

function gitHead(): string {
  try {
    const head = run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"]).trim();
    const dirty = run(["git", "-C", REPO, "status", "--porcelain", "--untracked-files=no"]).trim() !== "";
    return dirty ? `${head}+dirty` : head;
  } catch {
    return "unknown";
  }
}

function round3(_key: string, value: unknown): unknown {
  return typeof value === "number" && !Number.isInteger(value) ? Math.round(value * 1000) / 1000 : value;
}

if (import.meta.main) Deno.exit(main());
