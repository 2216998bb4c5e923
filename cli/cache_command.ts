/**
 * `oci2lxc cache list` and `oci2lxc cache prune`: what the blob cache holds (images, blobs, sizes, last use), and
 * removing blobs by age or to a size.
 *
 * @module
 */
import { BlobCache } from "../core/cache/blob_cache.ts";
import { defaultCacheDir } from "../core/cache/cache_dir.ts";
import { listCache } from "../core/cache/cache_list.ts";
import { pruneCache } from "../core/cache/cache_prune.ts";
import { shortDigest } from "../core/digest.ts";
import { Oci2LxcError, quoteForMessage } from "../core/errors.ts";
import { CACHE_DIR_OPTION } from "./cache_options.ts";
import type { Command } from "./commands.ts";
import { formatBytes } from "./format_bytes.ts";
import { printOut } from "./output.ts";

const DURATION_UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/**
 * `--older-than DURATION`: a sum of NUMBER+UNIT parts, units s, m, h, d, w (`30d`, `1h30m`, `90s`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseDuration } from "./cache_command.ts";
 * assert(parseDuration("1h30m") === 5_400_000);
 * ```
 */
export function parseDuration(text: string): number {
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)([smhdw])/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join("") !== text) {
    throw new Oci2LxcError("usage", `Cannot use --older-than ${quoteForMessage(text)}: not a duration`, {
      hint: "Write a number and a unit (s, m, h, d, w), or several: 30d, 12h, 1h30m",
    });
  }
  return parts.reduce((sum, p) => sum + Number(p[1]) * DURATION_UNITS[p[2]!]!, 0);
}

const SIZE_UNITS: Record<string, number> = {
  "": 1,
  b: 1,
  k: 1e3,
  kb: 1e3,
  m: 1e6,
  mb: 1e6,
  g: 1e9,
  gb: 1e9,
  t: 1e12,
  tb: 1e12,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40,
};

/**
 * `--max-size SIZE`: bytes, or a number with a decimal (`kB`, `MB`, `GB`, `TB`, also `K`, `M`, `G`, `T`) or binary
 * (`KiB`, `MiB`, `GiB`, `TiB`) unit, any case.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseSize } from "./cache_command.ts";
 * assert(parseSize("1.5GB") === 1_500_000_000 && parseSize("2MiB") === 2097152);
 * ```
 */
export function parseSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([a-zA-Z]*)$/.exec(text);
  const unit = SIZE_UNITS[(m?.[2] ?? "").toLowerCase()];
  if (!m || unit === undefined) {
    throw new Oci2LxcError("usage", `Cannot use --max-size ${quoteForMessage(text)}: not a size`, {
      hint: "Write bytes, or a number and a unit: 500MB, 10GB, 2GiB",
    });
  }
  return Math.floor(Number(m[1]) * unit);
}

/** `2026-12-05 19:30` in UTC: last use, to the minute. */
function when(date: Date): string {
  return date.getTime() === 0 ? "never" : date.toISOString().slice(0, 16).replace("T", " ");
}

/** The cache command. */
export const cacheCommand: Command = {
  name: "cache",
  summary: "list or prune the blob cache that registry pulls share",
  usage: "oci2lxc cache list [--json] | oci2lxc cache prune [--all] [--older-than DURATION] [--max-size SIZE]",
  description: [
    "Registry pulls keep every manifest, config and layer they download in a content-addressed cache",
    "(/var/cache/oci2lxc for root, else $XDG_CACHE_HOME/oci2lxc or ~/.cache/oci2lxc), so a second",
    "conversion downloads only the manifest. Conversions running at the same time share it safely.",
    "'list' shows the images (references and the digest each last resolved to) and the blobs, with sizes",
    "and last use. 'prune' always removes leftovers of killed downloads; --all removes every blob,",
    "--older-than the blobs not used for that long, --max-size the least recently used until the rest fit.",
  ].join("\n"),
  examples: [
    "oci2lxc cache list",
    "oci2lxc cache list --json",
    "oci2lxc cache prune --older-than 30d --cache-dir /var/tmp/oci2lxc-cache",
    "oci2lxc cache prune --max-size 10GB --cache-dir /var/tmp/oci2lxc-cache",
    "oci2lxc cache prune --all --cache-dir /var/tmp/oci2lxc-cache",
  ],
  options: {
    ...CACHE_DIR_OPTION,
    json: { type: "boolean", help: "Print as JSON" },
    all: { type: "boolean", help: "prune: remove every blob" },
    "older-than": { type: "string", value: "DURATION", help: "prune: remove blobs not used for this long (30d, 12h)" },
    "max-size": { type: "string", value: "SIZE", help: "prune: remove least recently used blobs down to this size" },
  },
  positionals: [1, 1],
  positionalNames: ["ACTION"],
  run(args) {
    const action = args.positionals[0]!;
    const dir = typeof args.values["cache-dir"] === "string" ? args.values["cache-dir"] : defaultCacheDir();
    const cache = new BlobCache(dir);
    const pruneOnly = ["all", "older-than", "max-size"].filter((name) => args.values[name] !== undefined);
    if (action === "list") {
      if (pruneOnly.length) {
        throw new Oci2LxcError("usage", `Cannot use --${pruneOnly[0]} with cache list: it is an option of prune`, {
          hint: `Run oci2lxc cache prune --${pruneOnly[0]} …`,
        });
      }
      const listing = listCache(cache);
      if (args.values.json) {
        printOut(JSON.stringify(listing, null, 2));
        return 0;
      }
      printOut(`Cache ${listing.dir}: ${listing.blobs.length} blobs, ${formatBytes(listing.size)}`);
      printOut("");
      printOut("IMAGE\tDIGEST\tSIZE\tBLOBS\tLAST USE");
      for (const image of listing.images) {
        const blobs = image.missing ? `${image.blobs} (${image.missing} missing)` : `${image.blobs}`;
        printOut(
          `${image.reference}\t${shortDigest(image.digest)}\t${formatBytes(image.size)}\t${blobs}\t${
            when(image.lastUse)
          }`,
        );
      }
      printOut("");
      printOut("BLOB\tSIZE\tMEDIA TYPE\tLAST USE");
      for (const blob of listing.blobs) {
        printOut(
          `${shortDigest(blob.digest)}\t${formatBytes(blob.size)}\t${blob.mediaType || "-"}\t${when(blob.lastUse)}`,
        );
      }
      return 0;
    }
    if (action === "prune") {
      const result = pruneCache(cache, {
        all: args.values.all === true,
        olderThanMs: typeof args.values["older-than"] === "string"
          ? parseDuration(args.values["older-than"])
          : undefined,
        maxSize: typeof args.values["max-size"] === "string" ? parseSize(args.values["max-size"]) : undefined,
      });
      if (args.values.json) {
        printOut(JSON.stringify(result, null, 2));
        return 0;
      }
      for (const blob of result.blobs) printOut(`removed ${blob.digest} (${formatBytes(blob.size)})`);
      for (const image of result.images) printOut(`removed image ${image}`);
      printOut(
        `Removed ${result.blobs.length} blobs, ${result.images.length} images and ${result.leftovers} partial downloads: ` +
          `${formatBytes(result.freed)} freed`,
      );
      return 0;
    }
    throw new Oci2LxcError("usage", `Cannot run cache: unknown action ${quoteForMessage(action)}`, {
      hint: "Give list or prune",
    });
  },
};
