/**
 * `deno run -A bench/profile.ts`: where our convert spends its time on the
 * 1× images. For gzip and zstd it records a V8 CPU profile of one convert
 * (`deno run --cpu-prof`) and sums it by pipeline stage, then counts the
 * system calls of our convert and of the tar floor with `strace -f -c`.
 * Prints a summary and writes bench/profile.json.
 *
 * Flags: --main PATH (the main.ts to profile), --scales 1x[,4x], --out FILE,
 * --cache DIR, --work DIR, --no-strace.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { defaultCacheDir, ensureImages, type ImageFiles } from "./bench_images.ts";
import { type CpuProfile, type ProfileSummary, summarizeProfile } from "./cpu_profile.ts";
import { openScratchFs } from "./scratch_fs.ts";
import { q, removeTree, run } from "./shell.ts";
import { fsSyscallSummary, parseStraceCounts } from "./strace_counts.ts";

const REPO = new URL("..", import.meta.url).pathname.replace(/\/$/, "");

function strace(argv: string[], dir: string): Map<string, number> {
  const out = `${dir}.strace`;
  run(["strace", "-f", "-c", "-o", out, ...argv]);
  const counts = parseStraceCounts(Deno.readTextFileSync(out));
  Deno.removeSync(out);
  return counts;
}

function main(): number {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      main: { type: "string", default: `${REPO}/main.ts` },
      scales: { type: "string", default: "1x" },
      out: { type: "string", default: `${REPO}/bench/profile.json` },
      cache: { type: "string", default: defaultCacheDir() },
      work: { type: "string" },
      "no-strace": { type: "boolean", default: false },
    },
  });
  const images = ensureImages(values.cache, { log: (s) => console.error(s) });
  const scratch = openScratchFs(values.cache, values.work);
  const profDir = Deno.makeTempDirSync({ prefix: "oci2lxc-prof-" });
  const report: Record<string, unknown> = { date: new Date().toISOString(), main: values.main };
  try {
    for (const variant of images.variants.filter((v) => values.scales.split(",").includes(v.scale))) {
      for (const image of [variant.gzip, variant.zstd]) {
        const name = `${variant.scale}-${image.compression}`;
        const dest = `${scratch.dir}/profile-${name}`;
        const convert = (extra: string[]) => [
          "deno",
          "run",
          "-A",
          ...extra,
          values.main,
          "convert",
          `oci-archive:${image.archive}`,
          `${dest}/ct`,
          "--force",
          "--quiet",
        ];
        const fresh = () => {
          removeTree(dest);
          Deno.mkdirSync(dest);
          run(["sync"]);
        };
        fresh();
        const file = `${name}.cpuprofile`;
        run(convert([`--cpu-prof`, `--cpu-prof-dir=${profDir}`, `--cpu-prof-name=${file}`]));
        const profile = JSON.parse(Deno.readTextFileSync(`${profDir}/${file}`)) as CpuProfile;
        const summary = summarizeProfile(profile);
        printSummary(name, variant.tarBytes, variant.entries, summary);
        const entry: Record<string, unknown> = { tarBytes: variant.tarBytes, entries: variant.entries, cpu: summary };
        if (!values["no-strace"]) {
          fresh();
          const ours = strace(convert([]), dest);
          fresh();
          const floorCounts = strace(floorCommand(image, `${dest}/rootfs`), dest);
          // What the decompressor wrote into the pipe, counted as writes by strace: measure it alone.
          const pipe = strace(["bash", "-c", decompressOnly(image)], dest);
          const syscalls = {
            oci2lxc: fsSyscallSummary(ours, variant.entries, 0),
            floor: fsSyscallSummary(floorCounts, variant.entries, pipe.get("write") ?? 0),
          };
          entry.syscalls = syscalls;
          console.log(
            `  file-system syscalls per tar entry: oci2lxc ${syscalls.oci2lxc.perEntry.toFixed(1)}, tar floor ${
              syscalls.floor.perEntry.toFixed(1)
            }`,
          );
          for (const who of ["oci2lxc", "floor"] as const) {
            const top = Object.entries(syscalls[who].calls).slice(0, 12).map(([n, c]) => `${n} ${c}`).join(", ");
            console.log(`    ${who}: ${top}`);
          }
        }
        removeTree(dest);
        report[name] = entry;
      }
    }
  } finally {
    removeTree(profDir);
    scratch.close();
  }
  Deno.writeTextFileSync(values.out, JSON.stringify(report, (_k, v) => typeof v === "number" ? round(v) : v, 2) + "\n");
  console.error(`wrote ${values.out}`);
  return 0;
}

function round(v: number): number {
  return Number.isInteger(v) ? v : Math.round(v * 1000) / 1000;
}

function floorCommand(image: ImageFiles, rootfs: string): string[] {
  const steps = image.layers.map((l) => `${image.compression} -dc ${q(l)} | tar -x -C ${q(rootfs)}`);
  return ["bash", "-c", `set -eo pipefail; mkdir ${q(rootfs)}; ${steps.join("; ")}`];
}

function decompressOnly(image: ImageFiles): string {
  return image.layers.map((l) => `${image.compression} -dc ${q(l)} | cat > /dev/null`).join("; ");
}

function printSummary(name: string, tarBytes: number, entries: number, s: ProfileSummary): void {
  console.log(
    `\n${name}: ${(tarBytes / 1e6).toFixed(0)} MB of tar, ${entries} entries; main thread ${
      s.totalMs.toFixed(0)
    } ms sampled`,
  );
  for (const st of s.stages) {
    console.log(`  ${st.stage.padEnd(40)} ${st.ms.toFixed(0).padStart(6)} ms  ${(100 * st.share).toFixed(1)}%`);
  }
  console.log("  top functions (self time; FFI time is the caller's):");
  for (const f of s.functions.slice(0, 12)) {
    console.log(`    ${f.name.padEnd(44)} ${f.ms.toFixed(0).padStart(6)} ms  ${(100 * f.share).toFixed(1)}%`);
  }
}

if (import.meta.main) {
  Deno.exit(main());
}
