/**
 * One live progress line on stderr, only when stderr is a terminal.
 *
 * @module
 */
import type { ConversionProgress } from "../core/conversion.ts";

const encoder = new TextEncoder();

/** A progress printer; `done()` clears the line. */
export interface ProgressLine {
  update(p: ConversionProgress): void;
  done(): void;
}

/** A live line on a terminal, nothing otherwise (or with `quiet`). */
export function progressLine(quiet: boolean): ProgressLine {
  if (quiet || !Deno.stderr.isTerminal()) return { update() {}, done() {} };
  const started = performance.now();
  let last = 0;
  let shown = false;
  const write = (text: string) => {
    Deno.stderr.writeSync(encoder.encode(`\r\x1b[2K${text}`));
    shown = true;
  };
  return {
    update(p) {
      const now = performance.now();
      if (now - last < 100 && p.stage === "assemble") return;
      last = now;
      const seconds = ((now - started) / 1000).toFixed(1);
      if (p.stage === "assemble" && p.layer !== undefined) {
        const mb = ((p.bytes ?? 0) / 1e6).toFixed(1);
        write(`assembling layer ${p.layer}/${p.layers} (${mb} MB) ${seconds}s`);
      } else {
        write(`${p.stage}… ${seconds}s`);
      }
    },
    done() {
      if (shown) Deno.stderr.writeSync(encoder.encode("\r\x1b[2K"));
    },
  };
}
