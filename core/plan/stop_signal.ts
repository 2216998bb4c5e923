/**
 * Normalising an image's `StopSignal` to the form `lxc.signal.halt` takes. LXC accepts a number, a name with the `SIG`
 * prefix (any case) or `SIGRTMIN+n` / `SIGRTMAX-n`, but not a bare `QUIT`, so we always write `SIG` + the upper-case
 * name.
 *
 * Numbers follow the generic Linux numbering (x86, arm, arm64, riscv64, s390x, ppc64), as Docker's signal parser does
 * on those hosts.
 *
 * @module
 */

const NAMES: readonly string[] = [
  "",
  "HUP",
  "INT",
  "QUIT",
  "ILL",
  "TRAP",
  "ABRT",
  "BUS",
  "FPE",
  "KILL",
  "USR1",
  "SEGV",
  "USR2",
  "PIPE",
  "ALRM",
  "TERM",
  "STKFLT",
  "CHLD",
  "CONT",
  "STOP",
  "TSTP",
  "TTIN",
  "TTOU",
  "URG",
  "XCPU",
  "XFSZ",
  "VTALRM",
  "PROF",
  "WINCH",
  "IO",
  "PWR",
  "SYS",
];
const ALIASES: Readonly<Record<string, string>> = {
  IOT: "ABRT",
  CLD: "CHLD",
  POLL: "IO",
};
/** glibc's SIGRTMIN and SIGRTMAX as processes see them. */
const RTMIN = 34;
const RTMAX = 64;

// LXC 5.0.2 refuses a bare SIGRTMIN or SIGRTMAX but takes SIGRTMIN+0.
function realtime(base: "MIN" | "MAX", offset: number): string {
  return base === "MIN" ? `SIGRTMIN+${offset}` : `SIGRTMAX-${offset}`;
}

/**
 * The canonical `SIG…` name for a signal written as `QUIT`, `SIGQUIT`, `sigquit`, `3`, `SIGRTMIN+3` or `RTMAX-1`;
 * `undefined` when it is not a signal.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { normaliseStopSignal } from "./stop_signal.ts";
 * assert.equal(normaliseStopSignal("quit"), "SIGQUIT");
 * assert.equal(normaliseStopSignal("3"), "SIGQUIT");
 * assert.equal(normaliseStopSignal("SIGRTMIN+3"), "SIGRTMIN+3");
 * assert.equal(normaliseStopSignal("37"), "SIGRTMIN+3");
 * assert.equal(normaliseStopSignal("SIGRTMIN"), "SIGRTMIN+0");
 * assert.equal(normaliseStopSignal("SIGNOPE"), undefined);
 * ```
 */
export function normaliseStopSignal(text: string): string | undefined {
  if (/^[0-9]{1,2}$/.test(text)) {
    const n = Number(text);
    if (n >= 1 && n < NAMES.length) return `SIG${NAMES[n]}`;
    if (n >= RTMIN && n <= RTMAX) return realtime("MIN", n - RTMIN);
    return undefined;
  }
  const upper = text.toUpperCase();
  const name = upper.startsWith("SIG") ? upper.slice(3) : upper;
  const rt = /^RT(MIN|MAX)(?:([+-])([0-9]{1,2}))?$/.exec(name);
  if (rt) {
    const offset = rt[3] === undefined ? 0 : Number(rt[3]);
    if (rt[2] === (rt[1] === "MIN" ? "-" : "+")) return undefined;
    return offset <= RTMAX - RTMIN ? realtime(rt[1] as "MIN" | "MAX", offset) : undefined;
  }
  const canonical = ALIASES[name] ?? name;
  return canonical !== "" && NAMES.includes(canonical) ? `SIG${canonical}` : undefined;
}
