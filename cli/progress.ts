/**
 * One live progress line on stderr, only when stderr is a terminal: the
 * stage, and while layers are applied, the layer, the compressed bytes read
 * of all layers, the rate and the time left. The line is rewritten in place
 * (at most ten times a second) and cleared at the end, so the terminal keeps
 * only the report and the warnings.
 *
 * @module
 */
import type { ConversionProgress } from "../core/conversion.ts";
import { formatBytes } from "./format_bytes.ts";

const encoder = new TextEncoder();

/** A progress printer; `done()` clears the line. */
export interface ProgressLine {
  update(p: ConversionProgress): void;
  /** Say something on the live line until the next update (a retry: "retrying in 2s (429 Too Many Requests)"). */
  note(text: string): void;
  /** Bytes of layer `position` (from 0) downloaded ahead of the writer (`--max-parallel`): shown with the total. */
  downloaded(position: number, bytes: number): void;
  done(): void;
}

/** What each stage is doing on the line (the pipeline reports each stage as it begins). */
const STAGE_TEXT: Readonly<Record<ConversionProgress["stage"], string>> = {
  open: "opening the image",
  assemble: "applying layers",
  plan: "planning the container",
  setup: "setting up the rootfs",
  configure: "rendering the config",
  commit: "writing the output",
  report: "finishing the report",
};

/** The text of the line for one event; `elapsed` and `rate` in seconds and bytes per second. */
export function progressText(
  p: ConversionProgress,
  elapsed: number,
  rate: number | undefined,
  ahead = 0,
): string {
  const time = `${elapsed.toFixed(1)}s`;
  if (p.stage !== "assemble" || p.layer === undefined) return `oci2lxc: ${STAGE_TEXT[p.stage]}… ${time}`;
  const done = p.allBytes ?? p.bytes ?? 0;
  const total = p.allTotal ?? p.total ?? 0;
  const parts = [`oci2lxc: layer ${p.layer}/${p.layers}`, `${formatBytes(done)} of ${formatBytes(total)}`];
  // Layers downloading ahead of the writer: what is on disk already, beyond what was written.
  if (ahead > 0) parts.push(`downloaded ${formatBytes(Math.min(total, done + ahead))}`);
  if (rate !== undefined && rate > 0) {
    parts.push(`${formatBytes(rate)}/s`);
    if (total > done) parts.push(`ETA ${formatDuration((total - done) / rate)}`);
  }
  parts.push(time);
  return parts.join("  ");
}

/** `0:07`, `1:02:03`. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.ceil(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}

/** A live line on a terminal, nothing otherwise (or with `quiet`). */
export function progressLine(quiet: boolean, isTerminal = Deno.stderr.isTerminal()): ProgressLine {
  if (quiet || !isTerminal) return { update() {}, note() {}, downloaded() {}, done() {} };
  // Bytes downloaded ahead, per layer position; a layer the writer has reached counts in its own bytes instead.
  const ahead = new Map<number, number>();
  const started = performance.now();
  let assembleStart: { at: number; bytes: number } | undefined;
  let last = -Infinity;
  let lastStep = "";
  let shown = false;
  const write = (text: string) => {
    const columns = terminalColumns();
    // A line longer than the terminal wraps, and `\r` then rewrites only its last row.
    const fitted = text.length >= columns ? text.slice(0, columns - 1) : text;
    Deno.stderr.writeSync(encoder.encode(`\r\x1b[2K${fitted}`));
    shown = true;
  };
  return {
    update(p) {
      const now = performance.now();
      // Throttle within a step; a new stage, and a new layer within `assemble` (whose first event comes right after
      // the stage's own), always shows at once.
      const step = p.layer === undefined ? p.stage : `${p.stage} ${p.layer}`;
      if (step === lastStep && now - last < 100) return;
      last = now;
      lastStep = step;
      let rate: number | undefined;
      if (p.stage === "assemble") {
        const bytes = p.allBytes ?? p.bytes ?? 0;
        if (!assembleStart) assembleStart = { at: now, bytes };
        const seconds = (now - assembleStart.at) / 1000;
        if (seconds >= 0.5) rate = (bytes - assembleStart.bytes) / seconds;
      }
      let extra = 0;
      for (const [position, bytes] of ahead) if (p.layer === undefined || position + 1 > p.layer) extra += bytes;
      write(progressText(p, (now - started) / 1000, rate, extra));
    },
    downloaded(position, bytes) {
      ahead.set(position, bytes);
    },
    note(text) {
      write(`oci2lxc: ${text}  ${((performance.now() - started) / 1000).toFixed(1)}s`);
      // The next update shows at once, not throttled behind the note.
      lastStep = "";
    },
    done() {
      if (shown) Deno.stderr.writeSync(encoder.encode("\r\x1b[2K"));
      shown = false;
    },
  };
}

function terminalColumns(): number {
  try {
    return Deno.consoleSize().columns || 80;
  } catch {
    return 80;
  }
}
