/**
 * The registry section of the benchmark (`deno task bench --registry`, or `deno run -A bench/registry_bench.ts`):
 * a real `docker-registry` on 127.0.0.1 serving the bench image (1× and 4×, gzip), and, medians of N rounds:
 * - local: `oci2lxc convert oci-archive:…` (the baseline);
 * - cold: `oci2lxc convert docker://…` with an empty cache;
 * - warm: the same with the cache filled (only the manifest is fetched);
 * - skopeo + oci2lxc: `skopeo copy docker://… oci:DIR` then `oci2lxc convert oci:DIR`;
 * - skopeo + umoci: `skopeo copy` then `umoci unpack` (the lxc-oci and Incus path).
 * Prints a table and the issue's targets (cold ≤ 1.2× local, warm ≤ 1.05×, ≥ 3× faster than skopeo + umoci, peak
 * RSS < 200 MB and flat from 1× to 4×) and writes bench/registry_results.json.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { defaultCacheDir, ensureImages, type ImageFiles } from "./bench_images.ts";
import { measureCommand, type Measurement, spread } from "./measure_command.ts";
import { openScratchFs } from "./scratch_fs.ts";
import { removeTree, run } from "./shell.ts";
import { V8_FLAGS } from "../scripts/compile.ts";

const REPO = new URL("..", import.meta.url).pathname.replace(/\/$/, "");

interface Way {
  id: string;
  label: string;
  /** Made ready before each timed run (outside the timing): the cache emptied or filled. */
  prepare?: (dest: string) => void;
  command: (dest: string) => string[];
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** Start docker-registry on 127.0.0.1 with storage in `dir`; ready when it answers /v2/ (bounded wait). */
async function startRegistry(dir: string): Promise<{ host: string; stop: () => Promise<void> }> {
  const port = freePort();
  const host = `127.0.0.1:${port}`;
  Deno.writeTextFileSync(
    `${dir}/config.yml`,
    [
      "version: 0.1",
      "log: { level: error, accesslog: { disabled: true } }",
      `storage: { filesystem: { rootdirectory: ${dir}/storage }, delete: { enabled: true } }`,
      `http: { addr: ${host} }`,
    ].join("\n") + "\n",
  );
  const child = new Deno.Command("docker-registry", {
    args: ["serve", `${dir}/config.yml`],
    stdout: "null",
    stderr: "null",
  }).spawn();
  for (let i = 0; i < 200; i++) {
    const ok = await fetch(`http://${host}/v2/`).then((r) => {
      r.body?.cancel();
      return r.ok;
    }, () => false);
    if (ok) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    host,
    stop: async () => {
      child.kill("SIGTERM");
      await child.status;
    },
  };
}

function ways(main: string, files: ImageFiles, image: string, cache: string): Way[] {
  const oci2lxc = ["deno", "run", "-A", ...V8_FLAGS, main];
  const convert = (ref: string, dest: string, ...more: string[]) => [
    ...oci2lxc,
    "convert",
    ref,
    `${dest}/ct`,
    "--quiet",
    "--tls-verify=false",
    ...more,
  ];
  const skopeo = (dest: string) =>
    `skopeo copy --quiet --src-tls-verify=false docker://${image} oci:${dest}/oci:${files.tag}`;
  return [
    { id: "local", label: "convert oci-archive (local)", command: (d) => convert(`oci-archive:${files.archive}`, d) },
    {
      id: "cold",
      label: "convert docker:// (cold cache)",
      prepare: () => removeTree(cache),
      command: (d) => convert(`docker://${image}`, d, "--cache-dir", cache),
    },
    {
      id: "warm",
      label: "convert docker:// (warm cache)",
      prepare: (d) => {
        run(convert(`docker://${image}`, `${d}-fill`, "--cache-dir", cache));
        removeTree(`${d}-fill`);
      },
      command: (d) => convert(`docker://${image}`, d, "--cache-dir", cache),
    },
    {
      id: "skopeo-oci2lxc",
      label: "skopeo copy + oci2lxc convert",
      command: (d) => [
        "bash",
        "-c",
        `set -e; mkdir -p ${d}; ${skopeo(d)}; ${convert(`oci:${d}/oci:${files.tag}`, d).join(" ")}`,
      ],
    },
    {
      id: "skopeo-umoci",
      label: "skopeo copy + umoci unpack",
      command: (d) => [
        "bash",
        "-c",
        `set -e; mkdir -p ${d}; ${skopeo(d)}; umoci --log=error unpack --image ${d}/oci:${files.tag} ${d}/bundle`,
      ],
    },
  ];
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      runs: { type: "string", default: "5" },
      scales: { type: "string", default: "1x,4x" },
      main: { type: "string", default: `${REPO}/main.ts` },
      out: { type: "string", default: `${REPO}/bench/registry_results.json` },
      cache: { type: "string", default: defaultCacheDir() },
      work: { type: "string" },
    },
  });
  const runs = Number(values.runs);
  const scales = values.scales.split(",");
  const log = (s: string) => console.error(`[registry bench] ${s}`);
  const images = ensureImages(values.cache, { log });
  const scratch = openScratchFs(values.cache, values.work);
  const tmp = Deno.makeTempDirSync({ prefix: "oci2lxc-regbench-" });
  const registry = await startRegistry(tmp);
  const results: { scale: string; way: string; label: string; wall: number; rssMiB: number; runs: Measurement[] }[] =
    [];
  try {
    for (const v of images.variants.filter((v) => scales.includes(v.scale))) {
      const files = v.gzip;
      const image = `${registry.host}/bench:${v.scale}`;
      run([
        "skopeo",
        "copy",
        "--quiet",
        "--dest-tls-verify=false",
        `oci-archive:${files.archive}`,
        `docker://${image}`,
      ]);
      const list = ways(values.main, files, image, `${scratch.dir}/blob-cache`);
      const measured = new Map<string, Measurement[]>(list.map((w) => [w.id, []]));
      for (let round = 0; round < runs; round++) {
        for (const [i] of list.entries()) {
          const w = list[(i + round) % list.length]!;
          const dest = `${scratch.dir}/run-${v.scale}-${w.id}-${round}`;
          removeTree(dest);
          w.prepare?.(dest);
          run(["sync"]);
          const r = measureCommand(w.command(dest));
          removeTree(dest);
          removeTree(`${dest}-fill`);
          if (!r.ok) {
            log(`${v.scale} ${w.id}: failed: ${r.stderr.split("\n").slice(-3).join(" ")}`);
            continue;
          }
          measured.get(w.id)!.push(r.measurement);
          log(`${v.scale} ${w.id}: ${r.measurement.wall.toFixed(2)} s, ${r.measurement.rssMiB.toFixed(0)} MiB`);
        }
      }
      for (const w of list) {
        const m = measured.get(w.id)!;
        results.push({
          scale: v.scale,
          way: w.id,
          label: w.label,
          wall: spread(m.map((x) => x.wall)).median,
          rssMiB: Math.max(...m.map((x) => x.rssMiB)),
          runs: m,
        });
      }
      removeTree(`${scratch.dir}/blob-cache`);
    }
  } finally {
    await registry.stop();
    removeTree(tmp);
    scratch.close();
  }
  const lines = ["| image | way | median wall (s) | vs local | peak RSS (MiB) |", "|---|---|---:|---:|---:|"];
  for (const r of results) {
    const local = results.find((x) => x.scale === r.scale && x.way === "local")!.wall;
    lines.push(
      `| ${r.scale} gzip | ${r.label} | ${r.wall.toFixed(2)} | ${(r.wall / local).toFixed(2)}× | ${
        r.rssMiB.toFixed(0)
      } |`,
    );
  }
  console.log(lines.join("\n"));
  const at = (scale: string, way: string) => results.find((r) => r.scale === scale && r.way === way);
  const targets: string[] = [];
  for (const s of scales) {
    const local = at(s, "local")?.wall ?? NaN;
    const cold = at(s, "cold")?.wall ?? NaN;
    const warm = at(s, "warm")?.wall ?? NaN;
    const umoci = at(s, "skopeo-umoci")?.wall ?? NaN;
    targets.push(
      `${s}: cold ${(cold / local).toFixed(2)}× local (target ≤ 1.2): ${cold <= 1.2 * local ? "met" : "NOT met"}`,
    );
    targets.push(
      `${s}: warm ${(warm / local).toFixed(2)}× local (target ≤ 1.05): ${warm <= 1.05 * local ? "met" : "NOT met"}`,
    );
    targets.push(
      `${s}: skopeo+umoci / cold = ${(umoci / cold).toFixed(2)} (target ≥ 3): ${umoci >= 3 * cold ? "met" : "NOT met"}`,
    );
  }
  const rss = (s: string) => Math.max(...["cold", "warm"].map((w) => at(s, w)?.rssMiB ?? NaN));
  targets.push(
    `peak RSS (cold/warm) 1x ${rss("1x").toFixed(0)} MiB, 4x ${rss("4x").toFixed(0)} MiB (target < 200 and flat)`,
  );
  console.log(`\nTargets (issue 14), medians of ${runs}:\n${targets.join("\n")}`);
  Deno.writeTextFileSync(
    values.out,
    JSON.stringify({ date: new Date().toISOString(), runs, results, targets }, null, 2) + "\n",
  );
  return 0;
}

if (import.meta.main) Deno.exit(await main());
