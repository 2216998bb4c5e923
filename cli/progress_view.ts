/**
 * What the live progress view shows, as a pure function of its state: while layers are applied, a total row
 * (written of the total, downloaded, rate, ETA, elapsed time) and one row per layer (waiting, downloading,
 * downloaded, cached, writing, done), the way `docker pull` and `podman pull` show them; in any other stage the one
 * stage line. The state takes the events (each with its time, so nothing here reads a clock) and
 * {@linkcode progressLines} turns it into the rows for a terminal of a given size: each row cut to the width (a row
 * that wraps breaks the cursor-up that redraws it), and with many layers or a short terminal the finished and
 * waiting ones folded into one summary row. cli/progress.ts draws the rows.
 *
 * @module
 */
import type { ConversionProgress } from "../core/conversion.ts";
import type { StageName } from "../core/pipeline/stage_names.ts";
import { formatBytes } from "./format_bytes.ts";
import { RateWindow } from "./rate_window.ts";

/** Where a layer's bytes come from: the registry (downloaded), the blob cache, or a file (an archive, a layout). */
export type LayerOrigin = "registry" | "cache" | "file";

/** What is known of a layer before the writer reaches it (all optional: core may tell some, none or all). */
export interface LayerFacts {
  /** `sha256:…`; shown short on the layer's row, and a retry note naming it goes on that row. */
  digest?: string | undefined;
  /** Compressed size: the "of" of a layer downloading ahead. */
  size?: number | undefined;
  origin?: LayerOrigin | undefined;
}

/** A layer's state on its row. */
export type LayerStatus = "waiting" | "downloading" | "downloaded" | "cached" | "writing" | "done";

/** The order in which the summary row counts folded layers. */
const STATUS_ORDER: readonly LayerStatus[] = ["done", "writing", "downloading", "downloaded", "cached", "waiting"];

/** At most this many layer rows (docker pull shows them all; beyond a screenful the rows say little). */
export const MAX_LAYER_ROWS = 8;

/** What each stage is doing on the line (the pipeline reports each stage as it begins). */
const STAGE_TEXT: Readonly<Record<StageName, string>> = {
  open: "opening the image",
  assemble: "applying layers",
  plan: "planning the container",
  setup: "setting up the rootfs",
  configure: "rendering the config",
  commit: "writing the output",
  report: "finishing the report",
};

/** What the view knows of one layer. */
export class LayerState {
  facts: LayerFacts = {};
  /** Compressed size as the writer reported it (when it reached the layer), or from the facts. */
  size: number | undefined;
  /** Bytes downloaded ahead of the writer (`downloaded()`), the largest count seen. */
  downloaded = 0;
  /** Compressed bytes the writer has read. */
  written = 0;
  note: string | undefined;
  readonly downloads = new RateWindow();
  readonly writes = new RateWindow();
}

/** Options of {@linkcode ProgressState}. */
export interface ProgressStateOptions {
  /**
   * The image comes from a registry: a layer the writer reads with nothing downloaded ahead and not said to be
   * cached is streamed from the registry, so what it read is what was downloaded.
   */
  remote?: boolean;
}

/**
 * The view's state: fed with the conversion's events, each with its time in ms (any monotonic clock).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { progressLines, ProgressState } from "./progress_view.ts";
 * const state = new ProgressState(0);
 * state.update({ stage: "assemble", layer: 1, layers: 2, bytes: 0, total: 10, allBytes: 0, allTotal: 20 }, 0);
 * assert.equal(progressLines(state, 0, { columns: 80, rows: 24 }).length, 3);
 * ```
 */
export class ProgressState {
  readonly started: number;
  readonly remote: boolean;
  stage: StageName = "open";
  /** The writer's layer (from 0) during `assemble`. */
  current: number | undefined;
  /** One per layer, as many as the writer's events say the image has (or positions reported). */
  readonly layers: LayerState[] = [];
  allBytes = 0;
  allTotal = 0;
  /** A note for the total row, until the next update. */
  note: string | undefined;
  readonly writes = new RateWindow();

  constructor(started: number, options: ProgressStateOptions = {}) {
    this.started = started;
    this.remote = options.remote ?? false;
  }

  /** A progress event of the conversion. */
  update(p: ConversionProgress, now: number): void {
    this.stage = p.stage;
    this.note = undefined;
    if (p.stage !== "assemble" || p.layer === undefined) return;
    if (p.layers !== undefined) this.#grow(p.layers);
    const position = p.layer - 1;
    const layer = this.#layer(position);
    // The writer moved on: the layers before it are written whole (their last event may have been throttled away).
    for (let i = 0; i < position; i++) {
      const before = this.layers[i]!;
      if (before.size !== undefined) before.written = before.size;
    }
    this.current = position;
    if (p.total !== undefined) layer.size = p.total;
    if (p.bytes !== undefined) {
      if (p.bytes > layer.written) layer.note = undefined;
      layer.written = p.bytes;
      layer.writes.add(now, p.bytes);
    }
    this.allBytes = p.allBytes ?? this.allBytes;
    this.allTotal = p.allTotal ?? this.allTotal;
    this.writes.add(now, this.allBytes);
  }

  /** `bytes` of layer `position` (from 0) downloaded so far, ahead of the writer. */
  downloaded(position: number, bytes: number, now: number): void {
    const layer = this.#layer(position);
    if (bytes > layer.downloaded) layer.note = undefined;
    layer.downloaded = Math.max(layer.downloaded, bytes);
    layer.downloads.add(now, bytes);
  }

  /** What is known of layer `position` (its digest, size, origin). */
  layer(position: number, facts: LayerFacts): void {
    const layer = this.#layer(position);
    layer.facts = { ...layer.facts, ...facts };
    if (facts.size !== undefined) layer.size ??= facts.size;
  }

  /**
   * A note (a retry): on the row of the layer whose digest starts with `digest`, until that layer's next bytes;
   * otherwise on the total row until the next update.
   */
  noted(text: string, digest?: string): void {
    const layer = digest === undefined ? undefined : this.layers.find((l) => l.facts.digest?.startsWith(digest));
    if (layer && this.stage === "assemble") layer.note = text;
    else this.note = digest === undefined ? text : `${digest}: ${text}`;
  }

  /** The layer's status on its row. */
  status(position: number): LayerStatus {
    const layer = this.layers[position]!;
    const current = this.current ?? -1;
    if (position < current) return "done";
    const size = this.sizeOf(position);
    if (position === current) return size !== undefined && layer.written >= size ? "done" : "writing";
    if (layer.facts.origin === "cache") return "cached";
    if (layer.downloaded === 0) return "waiting";
    return size !== undefined && layer.downloaded >= size ? "downloaded" : "downloading";
  }

  /**
   * The layer's compressed size: as told or as the writer reported it; else worked out from the image's total when
   * that can be exact: the one layer of unknown size has what the others leave, and when every layer of unknown size
   * has bytes downloaded that add up to what the others leave, each is downloaded whole.
   */
  sizeOf(position: number): number | undefined {
    const layer = this.layers[position]!;
    if (layer.size !== undefined || this.allTotal <= 0) return layer.size;
    let left = this.allTotal;
    let unknown = 0;
    let downloaded = 0;
    let allDownloading = true;
    for (const other of this.layers) {
      if (other.size !== undefined) {
        left -= other.size;
        continue;
      }
      unknown++;
      downloaded += other.downloaded;
      allDownloading &&= other.downloaded > 0;
    }
    if (unknown === 1) return left;
    return allDownloading && downloaded === left ? layer.downloaded : undefined;
  }

  /**
   * Where the layer's bytes come from: as core said, else the registry for a remote image (or when bytes of it were
   * downloaded ahead), else a file.
   */
  origin(position: number): LayerOrigin {
    const layer = this.layers[position]!;
    return layer.facts.origin ?? (this.remote || layer.downloaded > 0 ? "registry" : "file");
  }

  /** Bytes of the layer downloaded: ahead of the writer, or as the writer streamed it from the registry. */
  downloadedBytes(position: number): number {
    const layer = this.layers[position]!;
    return this.origin(position) === "registry" ? Math.max(layer.downloaded, layer.written) : 0;
  }

  #grow(count: number): void {
    // Bounded by the image's layer count, as the writer reports it.
    while (this.layers.length < count) this.layers.push(new LayerState());
  }

  #layer(position: number): LayerState {
    this.#grow(position + 1);
    return this.layers[position]!;
  }
}

/** A terminal's size; `rows` bounds how many rows the view draws. */
export interface TerminalSize {
  columns: number;
  rows: number;
}

/**
 * The rows to show at time `now` on a terminal of `size`: the stage line, or during `assemble` the total row and
 * the layer rows. Never more rows than the terminal has minus one (so the redraw's cursor-up reaches the first),
 * none longer than the width minus one (so none wraps), no control characters in them.
 */
export function progressLines(state: ProgressState, now: number, size: TerminalSize): string[] {
  const elapsed = `${((now - state.started) / 1000).toFixed(1)}s`;
  if (state.stage !== "assemble" || state.current === undefined) {
    return [fit(`oci2lxc: ${state.note ?? `${STAGE_TEXT[state.stage]}…`} ${elapsed}`, size.columns)];
  }
  const lines = [fit(totalRow(state, now, elapsed), size.columns)];
  // Rows left for layers: the terminal's height less the total row and one spare.
  const budget = Math.min(MAX_LAYER_ROWS, size.rows - 2);
  if (budget < 1) return lines;
  const count = state.layers.length;
  const shown = count <= budget ? state.layers.map((_, i) => i) : chooseRows(state, budget - 1);
  const width = `layer ${count}/${count}`.length;
  for (const position of shown) lines.push(fit(layerRow(state, position, now, width), size.columns));
  if (shown.length < count) lines.push(fit(summaryRow(state, new Set(shown)), size.columns));
  return lines;
}

/** The total row: stage (or note), written of total, downloaded, rate, ETA, elapsed. */
function totalRow(state: ProgressState, now: number, elapsed: string): string {
  const parts = [`oci2lxc: ${state.note ?? STAGE_TEXT.assemble}`];
  parts.push(`written ${formatBytes(state.allBytes)} of ${formatBytes(state.allTotal)}`);
  let downloaded = 0;
  let fromRegistry = false;
  for (let i = 0; i < state.layers.length; i++) {
    downloaded += state.downloadedBytes(i);
    fromRegistry ||= state.origin(i) === "registry";
  }
  if (fromRegistry) parts.push(`downloaded ${formatBytes(Math.min(downloaded, state.allTotal))}`);
  parts.push(...rateAndEta(state.writes.rate(now), state.allTotal - state.allBytes));
  parts.push(elapsed);
  return parts.join("  ");
}

/** One layer's row: `layer 2/3 sha256:dcbf146c3f67  downloading 12.0 MB of 23.3 MB  4.2 MB/s  ETA 0:03`. */
function layerRow(state: ProgressState, position: number, now: number, width: number): string {
  const layer = state.layers[position]!;
  const name = `layer ${position + 1}/${state.layers.length}`.padEnd(width);
  const head = layer.facts.digest ? `${name} ${layer.facts.digest.slice(0, 19)}` : name;
  const parts = [head];
  if (layer.note) parts.push(layer.note);
  const status = state.status(position);
  const size = state.sizeOf(position);
  const of = (bytes: number) =>
    size === undefined ? formatBytes(bytes) : `${formatBytes(bytes)} of ${formatBytes(size)}`;
  const origin = state.origin(position);
  const source = origin === "cache"
    ? "from the cache"
    : origin === "registry"
    ? `downloaded ${formatBytes(state.downloadedBytes(position))}`
    : undefined;
  switch (status) {
    case "waiting":
      parts.push(size === undefined ? "waiting" : `waiting  ${formatBytes(size)}`);
      break;
    case "cached":
      parts.push(size === undefined ? "cached" : `cached  ${formatBytes(size)}`);
      break;
    case "downloaded":
      parts.push(`downloaded ${formatBytes(layer.downloaded)}`);
      break;
    case "downloading":
      parts.push(`downloading ${of(layer.downloaded)}`);
      parts.push(...rateAndEta(layer.downloads.rate(now), (size ?? 0) - layer.downloaded));
      break;
    case "writing":
      parts.push(`writing ${of(layer.written)}`);
      if (source) parts.push(source);
      parts.push(...rateAndEta(layer.writes.rate(now), (size ?? 0) - layer.written));
      break;
    case "done":
      parts.push(`done  ${formatBytes(size ?? layer.written)}`);
      if (source) parts.push(source);
      break;
  }
  return parts.join("  ");
}

/** `4.2 MB/s  ETA 0:03`: the rate when there is one, the ETA when something is left and the rate is not 0. */
function rateAndEta(rate: number | undefined, left: number): string[] {
  if (rate === undefined) return [];
  const parts = [`${formatBytes(Math.max(0, rate))}/s`];
  if (rate > 0 && left > 0) parts.push(`ETA ${formatDuration(left / rate)}`);
  return parts;
}

/**
 * Which layers get a row when not all fit: the writer's layer, then the downloading ones, then the next ones after
 * the writer, then the finished ones nearest it; shown in layer order.
 */
function chooseRows(state: ProgressState, room: number): number[] {
  const count = state.layers.length;
  const current = state.current ?? 0;
  const order: number[] = [current];
  for (let i = 0; i < count; i++) if (i !== current && state.status(i) === "downloading") order.push(i);
  for (let i = current + 1; i < count; i++) if (state.status(i) !== "downloading") order.push(i);
  for (let i = current - 1; i >= 0; i--) order.push(i);
  return order.slice(0, room).sort((a, b) => a - b);
}

/** `+ 12 more layers: 8 done, 3 cached, 1 waiting`. */
function summaryRow(state: ProgressState, shown: ReadonlySet<number>): string {
  const counts = new Map<LayerStatus, number>();
  let folded = 0;
  for (let i = 0; i < state.layers.length; i++) {
    if (shown.has(i)) continue;
    folded++;
    const status = state.status(i);
    counts.set(status, (counts.get(status) ?? 0) + 1);
  }
  const what = STATUS_ORDER.flatMap((s) => counts.has(s) ? [`${counts.get(s)} ${s}`] : []).join(", ");
  return `${shown.size ? "+ " : ""}${folded} ${shown.size ? "more " : ""}layer${folded === 1 ? "" : "s"}: ${what}`;
}

/**
 * A row as it may be written: control characters made spaces (a note from a registry could hold a newline), and
 * cut to `columns - 1` characters with an ellipsis, since a row as wide as the terminal wraps on some terminals.
 */
export function fit(text: string, columns: number): string {
  // deno-lint-ignore no-control-regex -- the control characters are what is replaced
  const chars = [...text.replace(/[\x00-\x1f\x7f-\x9f]/g, " ")];
  const room = Math.max(1, columns - 1);
  return chars.length <= room ? chars.join("") : `${chars.slice(0, room - 1).join("")}…`;
}

/**
 * `0:07`, `1:02:03`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatDuration } from "./progress_view.ts";
 * assert.equal(formatDuration(62), "1:02");
 * ```
 */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.ceil(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}
