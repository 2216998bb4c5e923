/**
 * Stage `configure`: let plugins add config lines (hook `config`), then render the output format's config from the
 * finished plan and those lines. Nothing is written yet: a value the format cannot take fails here.
 *
 * @module
 */
import type { Configured, Planned } from "./stage_data.ts";
import type { Stage } from "./stage_table.ts";

/** Render the config. */
export const configureStage: Stage<Planned, Configured> = {
  name: "configure",
  before: "writing the config",
  async run(planned, run) {
    await run.runner.sequential("config", planned.context);
    return { ...planned, rendered: run.output.render(planned.context) };
  },
};
