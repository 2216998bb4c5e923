/**
 * The stage table: stages as named functions with a typed input and output, chained so that each stage's output is
 * the next one's input (the type checker holds the chain), and run in the order of {@linkcode STAGE_NAMES} (the
 * table refuses any other when it is built). Running it gives every stage the same frame: a progress event as it
 * begins, a chance for Ctrl-C before it, its time in the report's timings as it ends, and the run's undo steps
 * when it fails.
 *
 * @module
 */
import type { ConversionRun } from "./conversion_run.ts";
import { STAGE_NAMES, type StageName } from "./stage_names.ts";

/** One stage: a name from {@linkcode STAGE_NAMES} and the function that does it. */
export interface Stage<In, Out> {
  readonly name: StageName;
  /**
   * What Ctrl-C before this stage says it stopped before (`the layers`); none where it is not asked: before the
   * first stage (opening checks itself) and after the commit (DEST is in place by then).
   */
  readonly before?: string;
  run(input: In, run: ConversionRun): Out | Promise<Out>;
}

/** Stages chained from `In` to `Out`. */
export class StageTable<In, Out> {
  readonly #stages: readonly Stage<unknown, unknown>[];

  private constructor(stages: readonly Stage<unknown, unknown>[]) {
    this.#stages = stages;
  }

  /** An empty table whose first stage takes `In`. */
  static start<In>(): StageTable<In, In> {
    return new StageTable<In, In>([]);
  }

  /** The table with `stage` added at the end; it must be the next of {@linkcode STAGE_NAMES}. */
  then<Next>(stage: Stage<Out, Next>): StageTable<In, Next> {
    const expected = STAGE_NAMES[this.#stages.length];
    if (stage.name !== expected) {
      throw new TypeError(`Cannot add stage "${stage.name}": the next stage of STAGE_NAMES is "${expected}"`);
    }
    return new StageTable<In, Next>([...this.#stages, stage as Stage<unknown, unknown>]);
  }

  /** The stage names, in order. */
  get names(): StageName[] {
    return this.#stages.map((s) => s.name);
  }

  /** Run every stage; on a failure the run's undo steps, and at the end its clean-up steps, either way. */
  async run(input: In, run: ConversionRun): Promise<Out> {
    if (this.#stages.length !== STAGE_NAMES.length) {
      throw new TypeError(`Cannot run the stage table: it has ${this.names.join(", ")}, not ${STAGE_NAMES.join(", ")}`);
    }
    const started = performance.now();
    let value: unknown = input;
    let failed = true;
    try {
      try {
        for (const stage of this.#stages) {
          if (stage.before !== undefined) await run.checkAbort(stage.before);
          run.progress({ stage: stage.name });
          const begun = performance.now();
          value = await stage.run(value, run);
          run.timings[stage.name] = Math.round(performance.now() - begun);
        }
        run.timings.total = Math.round(performance.now() - started);
        failed = false;
        return value as Out;
      } catch (err) {
        await run.failed();
        throw err;
      }
    } finally {
      run.ended(failed);
    }
  }
}
