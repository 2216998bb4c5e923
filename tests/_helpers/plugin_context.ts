/**
 * A real ConversionContext over a temp rootfs, for running one plugin alone:
 * the plan comes from the real planner, the rootfs from RootfsAccess.
 */
import type { ConfigAdditions, ConversionContext, ConversionReport, ConvertOptions } from "../../core/conversion.ts";
import type { Image, ImageConfig } from "../../core/image/image.ts";
import { parseNetSpecs } from "../../core/network/net_spec.ts";
import { makePlan } from "../../core/plan/make_plan.ts";
import { RootfsAccess } from "../../core/rootfs/rootfs_access.ts";
import { detect } from "../../plugins/distro_detect.ts";

/** What a test gets back besides the context. */
export interface PluginHarness {
  context: ConversionContext;
  /** The temp container dir; rootfs is `${dir}/rootfs`. */
  dir: string;
  /** Config lines plugins added, as `key = value` strings. */
  added: string[];
  warnings: string[];
  cleanup(): void;
}

/** Build a context over a rootfs made by `populate` (files by container path). */
export function pluginHarness(
  files: Record<string, string>,
  config: ImageConfig = { config: { Cmd: ["/bin/sh"] } },
  options: ConvertOptions = {},
): PluginHarness {
  const dir = Deno.makeTempDirSync({ prefix: "oci2lxc-plugin-" });
  const root = `${dir}/rootfs`;
  Deno.mkdirSync(root);
  for (const [path, content] of Object.entries(files)) {
    const full = `${root}${path}`;
    Deno.mkdirSync(full.replace(/\/[^/]*$/, ""), { recursive: true });
    Deno.writeTextFileSync(full, content);
  }
  const rootfs = new RootfsAccess(root);
  const added: string[] = [];
  const warnings: string[] = [];
  const additions: ConfigAdditions = {
    add: (key, value) => added.push(`${key} = ${value}`),
    comment: (text) => added.push(`# ${text}`),
  };
  const platform = { os: "linux", architecture: "amd64" };
  const image = { config: { value: config }, platform } as unknown as Image;
  const context: ConversionContext = {
    image,
    options,
    dest: "/var/lib/lxc/ct",
    name: "ct",
    format: options.format ?? "lxc",
    stagingDir: dir,
    rootfs,
    distro: detect(rootfs),
    plan: makePlan(config, platform, rootfs, {
      name: "ct",
      ...(options.net ? { net: parseNetSpecs(options.net) } : {}),
    }),
    config: additions,
    files: new Map(),
    report: {} as ConversionReport,
    warn: (m) => warnings.push(m),
  };
  return {
    context,
    dir,
    added,
    warnings,
    cleanup() {
      rootfs.close();
      Deno.removeSync(dir, { recursive: true });
    },
  };
}

/** A normalised listing of what is in the rootfs: sorted `path type [content]` lines. */
export function snapshotTree(root: string): string {
  const lines: string[] = [];
  const walk = (dir: string, rel: string) => {
    for (const e of [...Deno.readDirSync(dir)].sort((a, b) => a.name < b.name ? -1 : 1)) {
      const path = `${rel}/${e.name}`;
      const full = `${dir}/${e.name}`;
      if (e.isSymlink) lines.push(`${path} -> ${Deno.readLinkSync(full)}`);
      else if (e.isDirectory) {
        lines.push(`${path}/`);
        walk(full, path);
      } else lines.push(`${path}: ${JSON.stringify(Deno.readTextFileSync(full))}`);
    }
  };
  walk(root, "");
  return lines.join("\n");
}
