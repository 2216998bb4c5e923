/**
 * Stage `report`: finish the report (the container as plugins left it, the plugins that took part, where the
 * output went) and let plugins observe it (hook `report`). The report's timings hold every stage before this one
 * while the hooks run; this stage's and the total follow when it ends.
 *
 * @module
 */
import type { ConversionReport } from "../conversion.ts";
import { fillReport } from "./conversion_report.ts";
import type { Committed } from "./stage_data.ts";
import type { Stage } from "./stage_table.ts";

/** Finish the report and run the report hooks. */
export const reportStage: Stage<Committed, ConversionReport> = {
  name: "report",
  async run(committed, run) {
    const { context, result } = committed;
    fillReport(run, context);
    const report = context.report;
    report.paths = result.paths;
    if (result.pve) report.pve = result.pve;
    await run.runner.parallel("report", context);
    return report;
  },
};
