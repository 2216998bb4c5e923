/**
 * What every stage of one conversion shares besides the data passed from stage to stage: the request, the plugin
 * runner, the output writer, warnings and progress, and the undo and clean-up steps the stages register as they
 * take hold of something (the open image, the staging directory, the rootfs). The stage table runs the undo steps
 * when a stage fails and the clean-up steps at the end either way, newest first.
 *
 * @module
 */
import type { ConversionContext, ConversionProgress, ConvertOptions } from "../conversion.ts";
import { throwIfInterrupted } from "../errors.ts";
import { letEventLoopRun } from "../event_loop_pause.ts";
import type { NetSpec } from "../network/net_spec.ts";
import type { OutputWriter } from "../output/output_writer.ts";
import type { PluginRunner } from "../plugin.ts";

/** The request, as checked before anything was opened. */
export interface ConversionRequest {
  /** The image reference as given. */
  readonly reference: string;
  /** Absolute DEST. */
  readonly dest: string;
  /** The container name. */
  readonly name: string;
  readonly options: ConvertOptions;
  /** Not root: owners and devices are approximated. */
  readonly approximate: boolean;
  /** `--net`, parsed once, before anything (the plan carries it as `plan.net`). */
  readonly net: readonly NetSpec[];
}

/** One conversion's shared state and services. */
export class ConversionRun {
  readonly request: ConversionRequest;
  readonly runner: PluginRunner<ConversionContext>;
  readonly output: OutputWriter;
  /** Every warning, in order (the report's `warnings`). */
  readonly warnings: string[] = [];
  /** Milliseconds per stage, then `total`. */
  readonly timings: Record<string, number> = {};
  readonly #undo: (() => void | Promise<void>)[] = [];
  readonly #cleanup: ((failed: boolean) => void)[] = [];

  constructor(request: ConversionRequest, runner: PluginRunner<ConversionContext>, output: OutputWriter) {
    this.request = request;
    this.runner = runner;
    this.output = output;
  }

  get options(): ConvertOptions {
    return this.request.options;
  }

  /** Record a warning and tell the caller. */
  readonly warn = (message: string): void => {
    this.warnings.push(message);
    this.request.options.onWarning?.(message);
  };

  /** Tell the caller how far the conversion is. */
  progress(p: ConversionProgress): void {
    this.request.options.onProgress?.(p);
  }

  /** Between stages the listeners get their turn, so Ctrl-C at any time before the commit cancels. */
  async checkAbort(before: string): Promise<void> {
    const signal = this.request.options.signal;
    if (signal) await letEventLoopRun();
    throwIfInterrupted(signal, "finish the conversion", `before ${before}`);
  }

  /** Run `undo` if a later stage fails (e.g. remove the staging directory), before the clean-up steps. */
  onFailure(undo: () => void | Promise<void>): void {
    this.#undo.push(undo);
  }

  /** Run `cleanup` when the conversion ends, failed or not (e.g. close the image, release DEST's lock). */
  atEnd(cleanup: (failed: boolean) => void): void {
    this.#cleanup.push(cleanup);
  }

  /** Undo, newest first (the stage table calls it when a stage failed). */
  async failed(): Promise<void> {
    for (const undo of this.#undo.splice(0).reverse()) await undo();
  }

  /** Clean up, newest first. */
  ended(failed: boolean): void {
    for (const cleanup of this.#cleanup.splice(0).reverse()) cleanup(failed);
  }
}
