/**
 * The live progress view on stderr, only when stderr is a terminal: the rows of cli/progress_view.ts (a stage line,
 * or while layers are applied a total row and one row per layer), redrawn in place (cursor up, clear each row) at
 * most ten times a second, and cleared at the end, so the terminal keeps only the report and the warnings.
 *
 * @module
 */
import type { FetchHooks } from "./fetch_options.ts";
import type { ConversionProgress } from "../core/conversion.ts";
import { type LayerFacts, progressLines, ProgressState, type TerminalSize } from "./progress_view.ts";

const encoder = new TextEncoder();

/** Redraws closer together than this wait (ten a second at most), except when the stage or the layer changes. */
const REDRAW_MS = 100;

/** A progress printer; `done()` clears what it drew. */
export interface ProgressLine {
  update(p: ConversionProgress): void;
  /**
   * Say something until the next update (a retry: "retrying in 2s (429 Too Many Requests)"); with `digest` (short or
   * full) on the row of the layer it names, when the view knows that layer's digest, until its next bytes.
   */
  note(text: string, digest?: string): void;
  /** Bytes of layer `position` (from 0) downloaded so far ahead of the writer (`--max-parallel`). */
  downloaded(position: number, bytes: number): void;
  /**
   * What is known of layer `position` (from 0) before the writer reaches it: digest, compressed size, and whether it
   * comes from the registry, the blob cache or a file. Optional for the caller; the rows show more with it.
   */
  layer(position: number, facts: LayerFacts): void;
  done(): void;
}

/** Options of {@linkcode progressLine}. */
export interface ProgressLineOptions {
  /** Whether stderr is a terminal (default: asked). */
  isTerminal?: boolean;
  /** The image comes from a registry (`docker://`): a layer the writer streams counts as downloaded. */
  remote?: boolean;
}

/**
 * The escape sequences that replace `previous` rows drawn last time (the cursor at the last one's end) with
 * `lines`: back to the first row, each row cleared and written, rows no longer needed cleared. The rows must not
 * wrap (progressLines cuts them), or the cursor-up misses.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { redrawText } from "./progress.ts";
 * assert.equal(redrawText(0, ["a"]), "\r\x1b[2Ka");
 * assert.equal(redrawText(2, ["a", "b"]), "\r\x1b[1A\x1b[2Ka\n\x1b[2Kb");
 * ```
 */
export function redrawText(previous: number, lines: readonly string[]): string {
  let text = `\r${previous > 1 ? `\x1b[${previous - 1}A` : ""}`;
  text += lines.map((line) => `\x1b[2K${line}`).join("\n");
  const stale = previous - lines.length;
  if (stale > 0) text += `${"\n\x1b[2K".repeat(stale)}\x1b[${stale}A`;
  return text;
}

/**
 * The escape sequences that clear `previous` rows drawn (the cursor at the last one): up to the first, then erase
 * from there to the end of the screen. Nothing when nothing was drawn.
 */
export function clearText(previous: number): string {
  if (previous <= 0) return "";
  return `\r${previous > 1 ? `\x1b[${previous - 1}A` : ""}\x1b[J`;
}

/** A live view on a terminal, nothing otherwise (or with `quiet`). */
export function progressLine(quiet: boolean, options: ProgressLineOptions = {}): ProgressLine {
  const isTerminal = options.isTerminal ?? Deno.stderr.isTerminal();
  if (quiet || !isTerminal) return { update() {}, note() {}, downloaded() {}, layer() {}, done() {} };
  const state = new ProgressState(performance.now(), { remote: options.remote ?? false });
  let drawn = 0;
  let last = -Infinity;
  let step = "";
  let timer: ReturnType<typeof setTimeout> | undefined;
  const draw = () => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    const now = performance.now();
    last = now;
    const lines = progressLines(state, now, terminalSize());
    Deno.stderr.writeSync(encoder.encode(redrawText(drawn, lines)));
    drawn = lines.length;
  };
  /** Draw now when `force` or the last draw is old enough; else once, when it is (the latest state then). */
  const changed = (force: boolean) => {
    const wait = last + REDRAW_MS - performance.now();
    if (force || wait <= 0) return draw();
    if (timer !== undefined) return;
    const pending = setTimeout(draw, wait);
    // A pending redraw must not keep the process alive (done() clears it anyway).
    Deno.unrefTimer(pending);
    timer = pending;
  };
  return {
    update(p) {
      state.update(p, performance.now());
      // A new stage, a new layer, and a layer's end show at once (the end: a small layer's whole life may fall
      // between two redraws); the bytes within a layer at most ten times a second.
      const next = p.layer === undefined ? p.stage : `${p.stage} ${p.layer}`;
      const end = p.total !== undefined && p.bytes === p.total;
      const force = next !== step || end;
      step = next;
      changed(force);
    },
    // Background downloads redraw only a view that is up: after done() (a warning, or the end, when a cancelled
    // download may still report a last chunk) the next update() draws again.
    downloaded(position, bytes) {
      state.downloaded(position, bytes, performance.now());
      if (drawn > 0) changed(false);
    },
    layer(position, facts) {
      state.layer(position, facts);
      if (drawn > 0) changed(false);
    },
    note(text, digest) {
      state.noted(text, digest);
      changed(true);
    },
    done() {
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      if (drawn > 0) Deno.stderr.writeSync(encoder.encode(clearText(drawn)));
      drawn = 0;
      // After a warning the view starts again below it, at once.
      last = -Infinity;
    },
  };
}

/** The terminal's size; 80×24 when it cannot be asked (or says 0, as a pty nobody sized does). */
function terminalSize(): TerminalSize {
  try {
    const { columns, rows } = Deno.consoleSize();
    return { columns: columns || 80, rows: rows || 24 };
  } catch {
    return { columns: 80, rows: 24 };
  }
}

/**
 * The registry hooks of `convert` and `update` that show on `progress`: a retry on the row of the layer whose blob its
 * action names ("read blob sha256:…"), else on the total row; bytes downloaded ahead; each layer's digest, size and
 * origin.
 */
export function progressFetchHooks(progress: ProgressLine): Pick<FetchHooks, "onRetry" | "onDownload" | "onLayer"> {
  return {
    onRetry: (r) =>
      progress.note(
        `retrying in ${Math.ceil(r.delayMs / 1000)}s (${r.reason})`,
        /sha256:[0-9a-f]+/.exec(r.action)?.[0],
      ),
    onDownload: (position, bytes) => progress.downloaded(position, bytes),
    onLayer: (position, facts) => progress.layer(position, facts),
  };
}
