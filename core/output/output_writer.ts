/**
 * What an output format is to the pipeline: the place plugins' config lines and files go, checked for that
 * format as they are added (so an error names the plugin), a renderer that turns the finished plan into the
 * format's config, and a writer that puts everything in place at the commit. The stages before the commit do not
 * know the format; every stage and hook runs the same for each.
 *
 * @module
 */
import type { ConfigAdditions, ConversionContext, ConversionReport, OutputFormat } from "../conversion.ts";
import type { Staging } from "../rootfs/staging.ts";

/** A file a plugin puts beside the rootfs. */
export interface BesideFile {
  data: string;
  mode: number;
}

/** Where the output went, for the report. */
export interface OutputResult {
  /** The report's `paths`. */
  paths: ConversionReport["paths"];
  /** The report's `pve`, for a Proxmox VE output that was written. */
  pve?: NonNullable<ConversionReport["pve"]>;
}

/** A rendered config, ready to be written with the rootfs. */
export interface RenderedOutput {
  /**
   * Put the output in place from the staged container (whose rootfs is closed by now): the staging directory is
   * committed or removed. A dry run writes nothing and only removes it.
   */
  write(staging: Staging, dryRun: boolean): Promise<OutputResult>;
}

/** One output format, made for one conversion. */
export interface OutputWriter {
  readonly format: OutputFormat;
  /** Where `context.config` lines go; each is checked for this format as it is added. */
  readonly config: ConfigAdditions;
  /** The map `context.files` is; each file is checked for this format as it is set. */
  readonly files: Map<string, BesideFile>;
  /** Where the output will be (for a dry run: would be). */
  readonly paths: ConversionReport["paths"];
  /** Render the config from the finished plan and the plugins' lines, after the config hooks ran. */
  render(context: ConversionContext): RenderedOutput;
}

/** What a writer is made from. */
export interface OutputRequest {
  /** The image reference, for the config's header. */
  reference: string;
  /** Absolute DEST. */
  dest: string;
  /** The container name. */
  name: string;
}
