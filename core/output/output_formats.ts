/**
 * The output formats, one entry each: the writer the pipeline chooses for `--format` (default `lxc`). Adding a
 * format is one entry here and one writer in this folder.
 *
 * @module
 */
import type { ConvertOptions, OutputFormat } from "../conversion.ts";
import { lxcOutput } from "./lxc_output.ts";
import type { OutputRequest, OutputWriter } from "./output_writer.ts";
import { pveOutput } from "./proxmox_output.ts";

/** Each format's writer factory; it checks the format's options before anything is opened. */
export const OUTPUT_FORMATS: Readonly<
  Record<OutputFormat, (request: OutputRequest, options: ConvertOptions) => OutputWriter>
> = {
  lxc: lxcOutput,
  pve: pveOutput,
};

/** The writer for `options.format`. */
export function outputWriter(request: OutputRequest, options: ConvertOptions): OutputWriter {
  return OUTPUT_FORMATS[options.format ?? "lxc"](request, options);
}
