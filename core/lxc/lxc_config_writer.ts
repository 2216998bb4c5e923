/**
 * The one writer every LXC config line goes through. Keys are checked against a fixed shape, values against
 * {@linkcode checkConfigValue}, and comments are sanitised, so nothing written here can add a line.
 *
 * @module
 */
import { checkConfigValue, encodeConfigValue, sanitiseComment } from "./config_value.ts";

const KEY = /^lxc(\.[A-Za-z0-9_-]+)+$/;

/**
 * Collects the lines of an LXC config.
 *
 * @example Writing two lines
 * ```ts
 * import assert from "node:assert/strict";
 * import { LxcConfigWriter } from "./lxc_config_writer.ts";
 * const w = new LxcConfigWriter();
 * w.comment("made by a test");
 * w.entry("lxc.environment", "A=b ");
 * assert.equal(w.toString(), '# made by a test\nlxc.environment = "A=b "\n');
 * ```
 */
export class LxcConfigWriter {
  #lines: string[] = [];

  /** Add `# text`; control characters in `text` are escaped. */
  comment(text: string): void {
    this.#lines.push(text === "" ? "#" : `# ${sanitiseComment(text)}`);
  }

  /** Add an empty line between groups (never two in a row, never first). */
  blank(): void {
    const last = this.#lines[this.#lines.length - 1];
    if (last !== undefined && last !== "") this.#lines.push("");
  }

  /**
   * Add `key = value`. Throws an `Oci2LxcError` ("config") naming `what` (default: the key) when the value cannot be
   * written exactly.
   */
  entry(key: string, value: string | number, what?: string): void {
    if (!KEY.test(key)) {
      throw new TypeError(
        `Cannot write LXC config key "${sanitiseComment(key)}": not an lxc.* key`,
      );
    }
    const text = typeof value === "number" ? String(value) : value;
    checkConfigValue(text, what ?? key);
    const encoded = encodeConfigValue(text);
    this.#lines.push(encoded === "" ? `${key} =` : `${key} = ${encoded}`);
  }

  /** The lines written so far. */
  get lines(): readonly string[] {
    return this.#lines;
  }

  /** The config text, one line per entry, ending with a line feed. */
  toString(): string {
    return this.#lines.length === 0 ? "" : this.#lines.join("\n") + "\n";
  }
}
