/**
 * One set of stage names: the stage table runs them in STAGE_NAMES order, each stage reports progress as it begins
 * and its time as it ends, and every hook runs in one of them, in stage order.
 */
import assert from "node:assert/strict";
import { convert } from "../../mod.ts";
import { formatReport } from "../../cli/format_report.ts";
import { STAGES } from "../../core/pipeline.ts";
import { STAGE_NAMES } from "../../core/pipeline/stage_names.ts";
import { StageTable } from "../../core/pipeline/stage_table.ts";
import { HOOK_KINDS, HOOKS } from "../../core/plugin.ts";
import { FIXTURES, withTempDir } from "../_helpers/oci_builder.ts";
import { systemTest } from "../_helpers/tier.ts";

Deno.test("the stage table holds the stages of STAGE_NAMES, in order", () => {
  assert.deepEqual(STAGES.names, [...STAGE_NAMES]);
});

Deno.test("the stage table refuses a stage out of STAGE_NAMES order", () => {
  assert.throws(
    () => StageTable.start<void>().then({ name: "assemble", run: () => 1 }),
    (err) =>
      err instanceof TypeError &&
      err.message.includes('Cannot add stage "assemble": the next stage of STAGE_NAMES is "open"'),
  );
});

Deno.test("every hook runs in a stage, in the stages' order, and its kind comes from the one table", () => {
  const order = Object.values(HOOKS).map((h) => STAGE_NAMES.indexOf(h.stage));
  assert(order.every((i, n) => i >= 0 && (n === 0 || i >= order[n - 1]!)), JSON.stringify(order));
  assert.deepEqual(HOOK_KINDS, {
    detectDistro: "first",
    plan: "sequential",
    rootfs: "sequential",
    config: "sequential",
    report: "parallel",
  });
});

systemTest("a conversion reports each stage as it begins and times each one, under the same names", async () => {
  await withTempDir(async (dir) => {
    const begun: string[] = [];
    const report = await convert(`oci-archive:${FIXTURES}busybox.oci.tar`, `${dir}/ct`, {
      onProgress: (p) => {
        if (begun.at(-1) !== p.stage) begun.push(p.stage);
      },
    });
    assert.deepEqual(begun, [...STAGE_NAMES]);
    assert.deepEqual(Object.keys(report.timings), [...STAGE_NAMES, "total"]);
    // The human summary's time line (wrapped) names the stages in the same order.
    const text = formatReport(report);
    const time = text.slice(text.indexOf("\n  time "), text.indexOf("\n\n", text.indexOf("\n  time ")));
    const named = [...time.replace(/\s+/g, " ").matchAll(/([a-z]+) \d+ ms/g)].map((m) => m[1]);
    assert.deepEqual(named, [...STAGE_NAMES], time);
  });
});
