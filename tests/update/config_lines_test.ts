import assert from "node:assert/strict";
import { configEdits, KEPT_HEADER, mergeConfigEdits } from "../../core/update/config_lines.ts";

const OURS = [
  "# Made by oci2lxc from oci:v1",
  "lxc.uts.name = ct",
  "lxc.signal.halt = SIGTERM",
  "lxc.environment = A=1",
  "lxc.environment = B=2",
  "lxc.cap.drop = sys_time",
];

Deno.test("configEdits() finds added, changed and removed lines against the recorded ones", () => {
  const current = [
    "# Made by oci2lxc from oci:v1",
    "lxc.uts.name = ct",
    "lxc.signal.halt   =   SIGKILL",
    "lxc.environment = A=1",
    "lxc.environment = B=2",
    "lxc.environment = MINE=1",
    "# my note",
    "lxc.start.auto = 1",
    "",
  ].join("\n");
  assert.deepEqual(configEdits(OURS, current), {
    added: ["lxc.environment = MINE=1", "# my note", "lxc.start.auto = 1"],
    changed: [{ key: "lxc.signal.halt", ours: "SIGTERM", theirs: "SIGKILL", line: "lxc.signal.halt   =   SIGKILL" }],
    removed: ["lxc.cap.drop = sys_time"],
  });
});

Deno.test("configEdits() of the config as we wrote it is empty, and our header is never the user's", () => {
  assert.deepEqual(configEdits(OURS, OURS.join("\n") + "\n"), { added: [], changed: [], removed: [] });
  const edited = [...OURS.slice(1)].join("\n");
  assert.deepEqual(configEdits(OURS, edited), { added: [], changed: [], removed: [] });
});

Deno.test("mergeConfigEdits() keeps a changed value in place, reports a conflict only where the image changed it", () => {
  const edits = configEdits(OURS, OURS.join("\n").replace("SIGTERM", "SIGKILL").replace("ct\n", "web\n"));
  const next = ["# Made by oci2lxc from oci:v2", "lxc.uts.name = ct", "lxc.signal.halt = SIGQUIT", ""].join("\n");
  const merged = mergeConfigEdits(next, edits);
  assert.deepEqual(
    merged.text,
    ["# Made by oci2lxc from oci:v2", "lxc.uts.name = web", "lxc.signal.halt = SIGKILL", ""].join("\n"),
  );
  assert.deepEqual(merged.conflicts, [{
    key: "lxc.signal.halt",
    kept: "lxc.signal.halt = SIGKILL",
    image: "lxc.signal.halt = SIGQUIT",
  }]);
  assert.deepEqual(merged.kept, ["lxc.uts.name = web", "lxc.signal.halt = SIGKILL"]);
});

Deno.test("mergeConfigEdits() adds hand-made lines once, also across two updates, and drops lines the user removed", () => {
  const current = OURS.filter((l) => l !== "lxc.cap.drop = sys_time").join("\n") + "\nlxc.start.auto = 1\n";
  const first = mergeConfigEdits(OURS.join("\n") + "\n", configEdits(OURS, current));
  assert.deepEqual(first.text.split("\n").filter((l) => l === "lxc.cap.drop = sys_time"), []);
  assert.deepEqual(first.text.endsWith(`${KEPT_HEADER}\nlxc.start.auto = 1\n`), true);
  // The next update records our new lines (without the kept ones) and finds the same edit again, once.
  const second = mergeConfigEdits(OURS.join("\n") + "\n", configEdits(OURS, first.text));
  assert.deepEqual(second.text, first.text);
});
