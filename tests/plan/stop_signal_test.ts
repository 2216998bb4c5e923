import assert from "node:assert/strict";
import { normaliseStopSignal } from "../../core/plan/stop_signal.ts";

Deno.test("normaliseStopSignal writes every accepted form as LXC's SIG name", () => {
  const table: [string, string | undefined][] = [
    ["QUIT", "SIGQUIT"],
    ["SIGQUIT", "SIGQUIT"],
    ["sigquit", "SIGQUIT"],
    ["3", "SIGQUIT"],
    ["15", "SIGTERM"],
    ["TERM", "SIGTERM"],
    ["SIGPWR", "SIGPWR"],
    ["30", "SIGPWR"],
    ["SIGIOT", "SIGABRT"],
    ["CLD", "SIGCHLD"],
    ["SIGPOLL", "SIGIO"],
    ["SIGRTMIN+3", "SIGRTMIN+3"],
    ["rtmin+3", "SIGRTMIN+3"],
    ["SIGRTMIN", "SIGRTMIN+0"],
    ["SIGRTMAX-2", "SIGRTMAX-2"],
    ["SIGRTMAX", "SIGRTMAX-0"],
    ["37", "SIGRTMIN+3"],
    ["64", "SIGRTMIN+30"],
    ["SIGRTMIN+30", "SIGRTMIN+30"],
    ["SIGRTMIN+31", undefined],
    ["SIGRTMIN-1", undefined],
    ["SIGRTMAX+1", undefined],
    ["0", undefined],
    ["32", undefined],
    ["65", undefined],
    ["SIG", undefined],
    ["", undefined],
    ["SIGNOPE", undefined],
    [" SIGTERM", undefined],
    ["SIGTERM ", undefined],
    ["-15", undefined],
  ];
  for (const [input, expected] of table) {
    assert.equal(normaliseStopSignal(input), expected, JSON.stringify(input));
  }
});
