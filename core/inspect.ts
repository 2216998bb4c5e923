/**
 * What an image holds, as a plain object for `inspect --json` and as text.
 *
 * @module
 */
import { blobLength } from "./image/blob.ts";
import type { Image } from "./image/image.ts";
import { formatPlatform } from "./image/platform.ts";

/** The `inspect` report; its JSON form is documented in README. */
export interface InspectReport {
  reference: string;
  transport: string;
  refName: string | null;
  platforms: string[];
  platform: string;
  index: { digest: string; mediaType: string } | null;
  manifest: { digest: string; mediaType: string; size: number };
  config: {
    digest: string;
    size: number;
    created: string | null;
    author: string | null;
    fields: Record<string, unknown>;
  };
  layers: Array<{ index: number; digest: string | null; size: number; mediaType: string; diffId: string }>;
  history: Array<{ created: string | null; createdBy: string | null; emptyLayer: boolean; comment: string | null }>;
  warnings: string[];
}

/** Describe an opened image. */
export function inspectImage(image: Image): InspectReport {
  const c = image.config.value;
  return {
    reference: image.reference,
    transport: image.transport,
    refName: image.refName ?? null,
    platforms: image.platforms.map(formatPlatform),
    platform: formatPlatform(image.platform),
    index: image.index ? { digest: image.index.digest, mediaType: image.index.mediaType } : null,
    manifest: { digest: image.manifest.digest, mediaType: image.manifest.mediaType, size: image.manifest.size },
    config: {
      digest: image.config.digest,
      size: image.config.size,
      created: c.created ?? null,
      author: c.author ?? null,
      fields: { ...(c.config ?? {}) },
    },
    layers: image.layers.map((l) => ({
      index: l.index,
      digest: l.blob.digest ?? null,
      size: blobLength(l.blob),
      mediaType: l.blob.mediaType,
      diffId: l.diffId,
    })),
    history: (c.history ?? []).map((h) => ({
      created: h.created ?? null,
      createdBy: h.created_by ?? null,
      emptyLayer: h.empty_layer ?? false,
      comment: h.comment ?? null,
    })),
    warnings: [...image.warnings],
  };
}

/** Render an inspect report for a terminal. */
export function formatInspect(r: InspectReport): string {
  const lines: string[] = [];
  lines.push(`Image:     ${r.reference}${r.refName ? ` (${r.refName})` : ""}`);
  lines.push(`Platforms: ${r.platforms.join(", ")}`);
  lines.push(`Selected:  ${r.platform}`);
  if (r.index) lines.push(`Index:     ${r.index.digest}`);
  if (r.manifest.digest) lines.push(`Manifest:  ${r.manifest.digest}`);
  lines.push(`Config:    ${r.config.digest}`);
  for (const [key, value] of Object.entries(r.config.fields)) {
    lines.push(`  ${key}: ${JSON.stringify(value)}`);
  }
  lines.push(`Layers:    ${r.layers.length}`);
  for (const l of r.layers) {
    lines.push(`  ${l.index + 1}. ${l.digest ?? "(no digest)"} ${l.size} bytes ${l.mediaType}`);
    lines.push(`     diff_id ${l.diffId}`);
  }
  if (r.history.length) {
    lines.push(`History:`);
    for (const h of r.history) lines.push(`  ${h.emptyLayer ? "(empty) " : ""}${h.createdBy ?? ""}`);
  }
  for (const w of r.warnings) lines.push(`warning: ${w}`);
  return lines.join("\n");
}
