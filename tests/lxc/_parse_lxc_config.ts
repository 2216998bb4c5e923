/**
 * A model of how LXC 5.0.2 reads a config file, checked against the real
 * parser (see the module notes of core/lxc/config_value.ts): blank and `#`
 * lines are skipped, a line splits at its first `=`, key and value are
 * trimmed of blanks, and one pair of matching quotes around the whole value
 * is removed.
 *
 * @module
 */

/** The `[key, value]` pairs LXC reads from `text`, in order. */
export function parseLxcConfig(text: string): [string, string][] {
  const out: [string, string][] = [];
  for (const raw of text.split("\n")) {
    const line = raw.replace(/^[ \t]+/, "");
    if (line === "" || line.startsWith("#")) continue;
    const eq = line.indexOf("=");
    if (eq < 0) {
      throw new SyntaxError(
        `Cannot parse config line ${JSON.stringify(raw)}: no "="`,
      );
    }
    const key = line.slice(0, eq).replace(/[ \t]+$/, "");
    let value = line.slice(eq + 1).replace(/^[ \t]+|[ \t]+$/g, "");
    const q = value[0];
    if (
      value.length >= 2 && (q === '"' || q === "'") &&
      value[value.length - 1] === q
    ) value = value.slice(1, -1);
    out.push([key, value]);
  }
  return out;
}

/** The lines that are neither blank nor comments. */
export function entryLines(text: string): string[] {
  return text.split("\n").filter((l) => l.trim() !== "" && !l.trimStart().startsWith("#"));
}
