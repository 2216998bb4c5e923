/**
 * The contenders: what each one runs to turn an image into a root
 * filesystem under a fresh directory.
 *
 * @module
 */

import type { ImageFiles } from "./bench_images.ts";
import { V8_FLAGS } from "../scripts/compile.ts";
import { q } from "./shell.ts";

/** One way of unpacking an image. */
export interface BenchTool {
  /** Stable key in results.json. */
  id: string;
  /** Shown in the table. */
  label: string;
  /** Ours: compared against the others. */
  ours: boolean;
  /** The command that unpacks `image` below the empty directory `dest`. */
  command(image: ImageFiles, dest: string): string[];
  /** A reason this tool is expected to fail on a compression (tried once, then reported). */
  unsupported?: (compression: "gzip" | "zstd") => string | undefined;
}

const UMOCI_ZSTD = "umoci 0.4.7 cannot read zstd layers (it knows only gzip and uncompressed media types)";

/** Another oci2lxc checkout to time beside ours (a prototype). */
export interface ExtraEntry {
  name: string;
  main: string;
}

/**
 * The tools of one benchmark run; `main` and `bundle` are the oci2lxc entry
 * points to time, `extra` more main.ts files timed as `oci2lxc:NAME`.
 */
export function benchTools(main: string, bundle: string, extra: readonly ExtraEntry[] = []): BenchTool[] {
  const convert = (entry: string) => (image: ImageFiles, dest: string) => [
    "deno",
    "run",
    "-A",
    ...V8_FLAGS,
    entry,
    "convert",
    `oci-archive:${image.archive}`,
    `${dest}/ct`,
    "--force",
    "--quiet",
  ];
  return [
    { id: "oci2lxc", label: "oci2lxc convert (main.ts)", ours: true, command: convert(main) },
    { id: "oci2lxc-bundle", label: "oci2lxc convert (bundle)", ours: true, command: convert(bundle) },
    ...extra.map((e) => ({
      id: `oci2lxc:${e.name}`,
      label: `oci2lxc ${e.name}`,
      ours: true,
      command: convert(e.main),
    })),
    {
      id: "skopeo-umoci",
      label: "skopeo copy + umoci unpack",
      ours: false,
      // What lxc-oci does as root: copy the archive to an OCI directory, then unpack it.
      command: (image, dest) => [
        "bash",
        "-c",
        `set -e; skopeo copy --quiet ${q(`oci-archive:${image.archive}:${image.tag}`)} ${
          q(`oci:${dest}/oci:${image.tag}`)
        }; umoci --log=error unpack --image ${q(`${dest}/oci:${image.tag}`)} ${q(`${dest}/bundle`)}`,
      ],
      unsupported: (c) => c === "zstd" ? UMOCI_ZSTD : undefined,
    },
    {
      id: "umoci",
      label: "umoci unpack (OCI dir)",
      ours: false,
      command: (image, dest) => [
        "umoci",
        "--log=error",
        "unpack",
        "--image",
        `${image.ociDir}:${image.tag}`,
        `${dest}/bundle`,
      ],
      unsupported: (c) => c === "zstd" ? UMOCI_ZSTD : undefined,
    },
    {
      id: "floor",
      label: "floor: decompress | tar -x",
      ours: false,
      // No whiteouts, no digests: the least work that puts the same bytes on disk.
      command: (image, dest) => {
        const tool = `${image.compression} -dc`;
        const steps = image.layers.map((l) => `${tool} ${q(l)} | tar -x -C ${q(`${dest}/rootfs`)}`);
        return ["bash", "-c", `set -eo pipefail; mkdir ${q(`${dest}/rootfs`)}; ${steps.join("; ")}`];
      },
    },
  ];
}
