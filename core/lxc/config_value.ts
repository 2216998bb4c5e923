/**
 * The rules for one value on one line of an LXC config, as LXC 5.0.2 reads it (checked with the real parser): the line
 * ends at the first line feed, the value is trimmed of blanks at both ends, and one pair of matching quotes around the
 * whole value is removed. Nothing else is interpreted.
 *
 * So a value is safe when it has no line-breaking or control characters, and it is read back unchanged when it is
 * wrapped in double quotes whenever its ends would otherwise be trimmed or stripped.
 *
 * @module
 */
import { type ErrorCode, Oci2LxcError } from "../errors.ts";

const NAMED: Readonly<Record<number, string>> = {
  0x00: "a NUL byte",
  0x09: "a tab",
  0x0a: "a line feed",
  0x0b: "a vertical tab",
  0x0c: "a form feed",
  0x0d: "a carriage return",
  0x1b: "an escape character (0x1B)",
  0x7f: "a delete character (0x7F)",
};

function hex2(code: number): string {
  return code.toString(16).toUpperCase().padStart(2, "0");
}

/** Describe a character in words for an error message. */
function describeChar(code: number): string {
  return NAMED[code] ?? `the control character 0x${hex2(code)}`;
}

/**
 * Find the first character that must never reach an LXC config line: any C0 control character or DEL, and lone UTF-16
 * surrogates (they cannot be written as UTF-8 without changing the value). A tab is allowed unless `allowTab` is false,
 * because real images carry tabs inside Env values (the official php image does) and LXC keeps them.
 *
 * @returns a description such as `"a line feed"`, or `undefined` when clean
 */
export function findForbiddenChar(
  value: string,
  allowTab = true,
): string | undefined {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) {
      if (code === 0x09 && allowTab) continue;
      return describeChar(code);
    }
  }
  if (!value.isWellFormed()) {
    return "a lone UTF-16 surrogate (not valid Unicode)";
  }
  return undefined;
}

/**
 * Throw unless `value` may be written on an LXC config line.
 *
 * @param value the text that would reach the config
 * @param what names the source for the message, e.g. `Env[2] of the image config`
 * @param code `config` for image values (the default), `usage` for the caller's options
 *
 * @example Refusing a value that would add a line
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkConfigValue } from "./config_value.ts";
 * let message = "";
 * try {
 *   checkConfigValue("a\nlxc.hook.pre-start = /bin/evil", "Env[2] of the image config");
 * } catch (err) {
 *   message = (err as Error).message;
 * }
 * assert.equal(message, "Cannot use Env[2] of the image config: it contains a line feed");
 * ```
 */
export function checkConfigValue(
  value: string,
  what: string,
  code: ErrorCode = "config",
  allowTab = true,
): void {
  const bad = findForbiddenChar(value, allowTab);
  if (bad === undefined) return;
  throw new Oci2LxcError(code, `Cannot use ${what}: it contains ${bad}`, {
    hint: code === "config"
      ? "The image config holds a value LXC cannot take; fix the image or override that field"
      : "Remove control characters and line breaks from the value",
  });
}

function isBlank(ch: string | undefined): boolean {
  return ch === " " || ch === "\t";
}

/**
 * The text to write after `key = ` so that LXC reads back exactly `value`: the value itself, or the value in double
 * quotes when LXC would otherwise trim a blank at either end or strip a pair of quotes around it. LXC removes exactly
 * one outer pair, so the inner text, quotes included, is kept. The value must already be clean
 * ({@linkcode checkConfigValue}).
 *
 * @example Keeping a trailing space
 * ```ts
 * import assert from "node:assert/strict";
 * import { encodeConfigValue } from "./config_value.ts";
 * assert.equal(encodeConfigValue("A=b "), '"A=b "');
 * assert.equal(encodeConfigValue("'x'"), `"'x'"`);
 * assert.equal(encodeConfigValue("plain"), "plain");
 * ```
 */
export function encodeConfigValue(value: string): string {
  if (value.length === 0) return value;
  const first = value[0];
  const last = value[value.length - 1];
  const quoted = value.length >= 2 && (first === '"' || first === "'") &&
    last === first;
  return isBlank(first) || isBlank(last) || quoted ? `"${value}"` : value;
}

/**
 * Make any text safe for a `#` comment line: control characters, DEL and lone surrogates become `\xNN` / `\u{NNNN}`
 * escapes, so image-supplied text (an unknown key's name) can never start a new line.
 */
export function sanitiseComment(text: string): string {
  let out = "";
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) {
      out += `\\x${hex2(code)}`;
    } else if (code >= 0xd800 && code <= 0xdfff) {
      const next = text.charCodeAt(i + 1);
      if (code <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        out += text[i]! + text[i + 1]!;
        i++;
      } else {
        out += `\\u{${code.toString(16).toUpperCase()}}`;
      }
    } else {
      out += text[i]!;
    }
  }
  return out;
}
