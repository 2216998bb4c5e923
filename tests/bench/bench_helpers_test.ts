/**
 * Tests of the benchmark's pure helpers: statistics, targets, profile and
 * strace summaries, mirror detection. Run with `deno test -A bench/`.
 */

import assert from "node:assert/strict";
import { mirrorFromSources } from "../_helpers/apt_mirror.ts";
import { type CaseResult, evaluateTargets, formatTable, summarize } from "../../bench/bench_report.ts";
import { type CpuProfile, summarizeProfile } from "../../bench/cpu_profile.ts";
import { type Measurement, spread } from "../../bench/measure_command.ts";
import { fsSyscallSummary, parseStraceCounts } from "../../bench/strace_counts.ts";

Deno.test("spread() gives the median of an even count as the mean of the middle two", () => {
  assert.deepEqual(spread([4, 1, 3, 2]), { median: 2.5, min: 1, max: 4 });
  assert.deepEqual(spread([5, 1, 3]), { median: 3, min: 1, max: 5 });
});

function runCase(image: string, tool: string, walls: number[], rss = 50): CaseResult {
  const runs: Measurement[] = walls.map((wall) => ({ wall, user: wall / 2, sys: wall / 4, rssMiB: rss }));
  return summarize({ image, tool, label: tool, ours: tool === "oci2lxc", status: "ok", runs });
}

Deno.test("evaluateTargets() checks the issue's ratios on medians", () => {
  const results = [
    runCase("1x-gzip", "oci2lxc", [1.0, 1.2, 1.1]),
    runCase("1x-gzip", "floor", [1.0, 1.0, 1.0]),
    runCase("1x-gzip", "umoci", [2.0, 2.1, 2.5]),
    runCase("1x-zstd", "oci2lxc", [1.6, 1.6, 1.6]),
    runCase("1x-zstd", "floor", [1.0, 1.0, 1.0]),
    runCase("4x-gzip", "oci2lxc", [4.4, 4.4, 4.4], 56),
  ];
  const byName = new Map(evaluateTargets(results, ["oci2lxc"]).map((t) => [t.name, t]));
  const floorGzip = byName.get("oci2lxc 1x-gzip / floor (wall)")!;
  assert.deepEqual([Math.round(floorGzip.measured * 100) / 100, floorGzip.met], [1.1, true]);
  const umoci = byName.get("umoci unpack / oci2lxc 1x-gzip (wall)")!;
  assert.deepEqual([Math.round(umoci.measured * 1000) / 1000, umoci.met], [1.909, false]);
  assert.deepEqual(byName.get("oci2lxc 1x-zstd / floor (wall)")!.met, false);
  assert.deepEqual(byName.get("oci2lxc 4x-gzip / 1x-gzip (wall)")!.met, true);
  const rss = byName.get("oci2lxc 4x-gzip / 1x-gzip (peak RSS)")!;
  assert.deepEqual([rss.measured, rss.met], [1.12, false]);
  // No zstd 4x run: no target is invented for it.
  assert.deepEqual(byName.has("oci2lxc 4x-zstd / 1x-zstd (wall)"), false);
});

Deno.test("formatTable() shows an unsupported tool's reason without its exit code", () => {
  const unsupported: CaseResult = {
    image: "1x-zstd",
    tool: "umoci",
    label: "umoci unpack",
    ours: false,
    status: "unsupported",
    error: "umoci 0.4.7 cannot read zstd layers. exit 1: blob is not correct mediatype",
    runs: [],
  };
  const table = formatTable([runCase("1x-zstd", "oci2lxc", [1]), unsupported], "oci2lxc");
  const line = table.split("\n").find((l) => l.includes("umoci unpack"))!;
  assert.deepEqual(line.endsWith("unsupported: umoci 0.4.7 cannot read zstd layers"), true, `${line}: `);
});

Deno.test("summarizeProfile() charges FFI and node:crypto time to the core/ frame that called it", () => {
  const frame = (id: number, functionName: string, url: string, children: number[] = []) => ({
    id,
    callFrame: { functionName, url, lineNumber: 0 },
    children,
  });
  const profile: CpuProfile = {
    nodes: [
      frame(1, "(root)", "", [2, 5, 7]),
      frame(2, "update", "file:///x/core/digest.ts", [3]),
      frame(3, "op_node_hash_update", ""),
      frame(5, "push", "file:///x/core/layer/gzip_decompressor.ts"),
      frame(7, "(garbage collector)", ""),
    ],
    startTime: 0,
    endTime: 100,
    samples: [3, 3, 5, 7],
    timeDeltas: [1000, 1000, 3000, 500],
  };
  const s = summarizeProfile(profile);
  const stage = (name: string) => s.stages.find((x) => x.stage.startsWith(name))?.ms;
  assert.deepEqual([stage("hashing"), stage("decompression"), stage("garbage")], [2, 3, 0.5]);
  assert.deepEqual(s.totalMs, 5.5);
});

Deno.test("parseStraceCounts() reads calls per syscall, with and without an errors column", () => {
  const text = `% time     seconds  usecs/call     calls    errors syscall
------ ----------- ----------- --------- --------- -------------------
 82.83    5.638261        9397       600        20 futex
  2.91    0.198355          16     11926       293 openat
  2.28    0.155139          15      9876           write
------ ----------- ----------- --------- --------- -------------------
100.00    6.807013          45    149823      1021 total
`;
  const counts = parseStraceCounts(text);
  assert.deepEqual([...counts], [["futex", 600], ["openat", 11926], ["write", 9876]]);
  const summary = fsSyscallSummary(counts, 100, 876);
  assert.deepEqual([summary.total, summary.perEntry], [11926 + 9876 - 876, 209.26]);
});

Deno.test("mirrorFromSources() finds the bookworm Debian archive, not security or third-party ones", () => {
  const deb822 = `Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main

Types: deb
URIs: http://mirror.example/debian/
Suites: bookworm bookworm-updates
Components: main
`;
  assert.deepEqual(mirrorFromSources("debian.sources", deb822), "http://mirror.example/debian");
  const oneLine = "deb https://packages.example.com/apt cloud-sdk-bookworm main\n" +
    "deb [arch=amd64] http://ftp.example/debian bookworm main\n";
  assert.deepEqual(mirrorFromSources("sources.list", oneLine), "http://ftp.example/debian");
  assert.deepEqual(mirrorFromSources("other.list", "deb http://ftp.example/debian trixie main\n"), undefined);
  assert.deepEqual(
    mirrorFromSources("other.list", "deb http://ftp.example/debian trixie main\n", "trixie"),
    "http://ftp.example/debian",
  );
  assert.deepEqual(
    mirrorFromSources(
      "off.sources",
      deb822.replace("Components: main\n\nTypes", "Components: main\n\nEnabled: no\nTypes"),
    ),
    undefined,
  );
});
