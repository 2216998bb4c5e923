/**
 * The user's own config edits, detected, not guessed: DEST/config is compared with the lines we wrote (recorded in
 * `oci2lxc.json`). A line that is not ours was added by hand; a key we wrote once whose only line now says another
 * value was changed by hand; a line of ours that is gone was removed by hand. The edits are then applied to the new
 * config: a changed value replaces ours in place, added lines follow ours, and where the new image changed the same
 * key the user's edit still wins and is reported as a conflict.
 *
 * @module
 */

/** One `key = value` line, or a comment or other line (key `undefined`). */
interface Line {
  text: string;
  key: string | undefined;
  value: string;
}

/** The user's edits of a config. */
export interface ConfigEdits {
  /** Lines added by hand, in order. */
  added: string[];
  /** Single lines of ours whose value the user changed: key, our value, theirs. */
  changed: Array<{ key: string; ours: string; theirs: string; line: string }>;
  /** Lines of ours the user removed. */
  removed: string[];
}

/** What merging the edits into a new config gave. */
export interface MergedConfig {
  /** The new config's text. */
  text: string;
  /** The hand-made lines kept (added or changed). */
  kept: string[];
  /** Hand edits of a key whose new value differs from the old one we wrote: the user's line was kept. */
  conflicts: Array<{ key: string; kept: string; image: string }>;
}

/** The comment above the kept lines; ours, so it is not taken for a hand-made line at the next update. */
export const KEPT_HEADER = "# Kept by oci2lxc update: lines added by hand";

function parseLine(text: string): Line {
  const trimmed = text.trim();
  if (trimmed.startsWith("#")) return { text, key: undefined, value: "" };
  const eq = trimmed.indexOf("=");
  if (eq < 0) return { text, key: undefined, value: "" };
  return { text, key: trimmed.slice(0, eq).trim(), value: trimmed.slice(eq + 1).trim() };
}

function meaningful(text: string): Line[] {
  return text.split("\n").filter((l) => l.trim() !== "").map(parseLine);
}

function countKeys(lines: Line[]): Map<string, Line[]> {
  const map = new Map<string, Line[]>();
  for (const line of lines) {
    if (line.key === undefined) continue;
    map.set(line.key, [...(map.get(line.key) ?? []), line]);
  }
  return map;
}

/**
 * The user's edits: `current` (DEST/config now) against `recorded` (the lines we wrote).
 *
 * @example A changed value and an added line
 * ```ts
 * import assert from "node:assert/strict";
 * import { configEdits } from "./config_lines.ts";
 * const edits = configEdits(["lxc.uts.name = a", "lxc.signal.halt = SIGTERM"],
 *   "lxc.uts.name = b\nlxc.signal.halt = SIGTERM\nlxc.start.auto = 1\n");
 * assert(edits.changed[0]?.theirs === "b" && edits.added[0] === "lxc.start.auto = 1");
 * ```
 */
export function configEdits(recorded: readonly string[], current: string): ConfigEdits {
  const ours = recorded.map(parseLine);
  const now = meaningful(current);
  const oursByKey = countKeys(ours);
  const nowByKey = countKeys(now);
  const changed: ConfigEdits["changed"] = [];
  const changedKeys = new Set<string>();
  for (const [key, lines] of oursByKey) {
    const theirs = nowByKey.get(key);
    if (lines.length === 1 && theirs?.length === 1 && theirs[0]!.value !== lines[0]!.value) {
      changed.push({ key, ours: lines[0]!.value, theirs: theirs[0]!.value, line: theirs[0]!.text.trim() });
      changedKeys.add(key);
    }
  }
  // Multisets of exact lines: a line we wrote twice and the user once is one removal.
  const left = new Map<string, number>();
  for (const l of ours) left.set(l.text.trim(), (left.get(l.text.trim()) ?? 0) + 1);
  const added: string[] = [];
  for (const l of now) {
    const t = l.text.trim();
    if (t === KEPT_HEADER || (l.key !== undefined && changedKeys.has(l.key))) continue;
    const n = left.get(t) ?? 0;
    if (n > 0) left.set(t, n - 1);
    else added.push(t);
  }
  const removed: string[] = [];
  for (const l of ours) {
    const t = l.text.trim();
    if (l.key !== undefined && changedKeys.has(l.key)) continue;
    const n = left.get(t) ?? 0;
    // Our comments (the header names the old image) are ours to rewrite; only removed settings count.
    if (n > 0 && l.key !== undefined) removed.push(t);
    if (n > 0) left.set(t, n - 1);
  }
  return { added, changed, removed };
}

/**
 * Apply `edits` to the new config `text` we just rendered: changed values replace the new line of the same key in
 * place (a conflict when the new image changed it too), removed lines stay removed, added lines follow in a
 * section of their own.
 */
export function mergeConfigEdits(text: string, edits: ConfigEdits): MergedConfig {
  const lines = text.split("\n");
  const kept: string[] = [];
  const conflicts: MergedConfig["conflicts"] = [];
  const out: string[] = [];
  const removed = new Set(edits.removed);
  const replaced = new Set<string>();
  for (const raw of lines) {
    const line = parseLine(raw);
    const change = line.key === undefined ? undefined : edits.changed.find((c) => c.key === line.key);
    if (change && !replaced.has(change.key)) {
      replaced.add(change.key);
      if (line.value !== change.ours) conflicts.push({ key: change.key, kept: change.line, image: raw.trim() });
      out.push(change.line);
      kept.push(change.line);
      continue;
    }
    if (line.key !== undefined && removed.has(raw.trim())) continue;
    out.push(raw);
  }
  // A changed key the new config no longer writes: the user's line is kept, with the added ones.
  const extra = [...edits.changed.filter((c) => !replaced.has(c.key)).map((c) => c.line), ...edits.added];
  for (const c of edits.changed.filter((c) => !replaced.has(c.key))) {
    conflicts.push({ key: c.key, kept: c.line, image: "" });
  }
  if (extra.length > 0) {
    while (out.length > 0 && out[out.length - 1] === "") out.pop();
    out.push("", KEPT_HEADER, ...extra, "");
    kept.push(...extra);
  }
  return { text: out.join("\n"), kept, conflicts };
}
