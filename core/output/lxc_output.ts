/**
 * The plain LXC output: DEST/config, DEST/rootfs and the files plugins put beside the rootfs, made in the staging
 * directory and renamed into DEST at the commit.
 *
 * @module
 */
import { join } from "node:path";
import type { ConfigAdditions, ConversionContext } from "../conversion.ts";
import { formatPlatform } from "../image/platform.ts";
import { detectLxcVersion } from "../lxc/host_lxc.ts";
import { renderLxcConfig } from "../lxc/lxc_config.ts";
import { LxcConfigWriter } from "../lxc/lxc_config_writer.ts";
import { environmentKeyFor, parseLxcVersion } from "../lxc/lxc_version.ts";
import type { Staging } from "../rootfs/staging.ts";
import { BesideFiles } from "./beside_files.ts";
import type { OutputRequest, OutputResult, OutputWriter, RenderedOutput } from "./output_writer.ts";

/** The writer of an LXC container directory. */
export function lxcOutput(request: OutputRequest): OutputWriter {
  const { dest, reference } = request;
  const extra = new LxcConfigWriter();
  const config: ConfigAdditions = {
    add: (key, value) => extra.entry(key, value, `a line from a plugin (${key})`),
    comment: (text) => extra.comment(text),
  };
  const files = new BesideFiles();
  const paths = { dest, config: join(dest, "config"), rootfs: join(dest, "rootfs") };
  return {
    format: "lxc",
    config,
    files,
    paths,
    render(context: ConversionContext): RenderedOutput {
      const { image, options } = context;
      const lxcVersion = options.lxcVersion ?? detectLxcVersion();
      let text = renderLxcConfig(context.plan, {
        rootfsPath: paths.rootfs,
        name: context.name,
        ...(lxcVersion ? { lxcVersion } : {}),
        environmentKey: environmentKeyFor(lxcVersion ? parseLxcVersion(lxcVersion) : undefined),
        onWarning: context.warn,
        header: [
          `Made by oci2lxc from ${reference}`,
          `image ${formatPlatform(image.platform)}, config ${image.config.digest}`,
        ],
      });
      if (extra.lines.length > 0) text += `\n# Added by plugins\n${extra.toString()}`;
      return {
        async write(staging: Staging, dryRun: boolean): Promise<OutputResult> {
          if (dryRun) {
            await staging.abortAsync();
            return { paths };
          }
          files.writeInto(staging.path);
          Deno.writeTextFileSync(join(staging.path, "config"), text, { mode: 0o644 });
          const { leftover, problem } = await staging.commit(options.force ?? false, { signal: options.signal });
          // The new container is in place: a failed clean-up of the old one is a warning, not a failed conversion.
          if (leftover !== undefined) {
            context.warn(
              `the new container is in place in ${dest}, but the old one could not be removed completely (${problem}); ` +
                `what is left is ${leftover}: the next conversion into ${dest} removes it, or remove it by hand`,
            );
          }
          return { paths };
        },
      };
    },
  };
}
