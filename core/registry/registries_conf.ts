/**
 * The registry entries of containers-registries.conf(5) (`/etc/containers/registries.conf`, version 2): each
 * `[[registry]]` with its `prefix`, `location`, `insecure`, `blocked`, `mirror-by-digest-only`, and its
 * `[[registry.mirror]]` entries (`location`, `insecure`, `pull-from-mirror`). Other tables and keys
 * (`unqualified-search-registries`, `[aliases]`, …) are read and ignored.
 *
 * The file is TOML; we read the small subset these files use (comments, `[table]`, `[[array.table]]`, `key = value`
 * with basic and literal strings, booleans, integers and arrays of those, spread over lines) with our own ~100-line
 * reader rather than a dependency: the program has none, and a TOML package would be its first. Anything outside the
 * subset is an error naming the file and line, never a silent misreading.
 *
 * @module
 */
import { Oci2LxcError, quoteForMessage } from "../errors.ts";

/** Where containers/image looks. */
export const REGISTRIES_CONF = "/etc/containers/registries.conf";

/** Which pulls a mirror serves: every pull, only by digest, only by tag (registries.conf's `pull-from-mirror`). */
export type PullFromMirror = "all" | "digest-only" | "tag-only";

/** One `[[registry.mirror]]`. */
export interface MirrorEntry {
  readonly location: string;
  readonly insecure: boolean;
  readonly pullFromMirror: PullFromMirror;
}

/** One `[[registry]]`. */
export interface RegistryEntry {
  /** What references it applies to: `docker.io`, `example.com/team`, `*.example.com`. Default: `location`. */
  readonly prefix: string;
  /** Where the registry really is (may rewrite the prefix); "" means the prefix as written. */
  readonly location: string;
  readonly insecure: boolean;
  readonly blocked: boolean;
  readonly mirrorByDigestOnly: boolean;
  readonly mirrors: readonly MirrorEntry[];
}

type Value = string | boolean | number | Value[];
/** A parsed TOML table. */
export interface Table {
  [key: string]: Value | Table | Table[];
}

/**
 * Read the registry entries of a registries.conf; none when the file does not exist.
 *
 * @throws {Oci2LxcError} code "usage" when the file is not the TOML we read, or an entry is malformed
 */
export function readRegistriesConf(path: string = REGISTRIES_CONF): RegistryEntry[] {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return [];
    throw new Oci2LxcError("usage", `Cannot read ${path}: ${(err as Error).message}`, {
      hint: "Check its permissions",
    });
  }
  return registryEntries(parseToml(text, path), path);
}

/** The `[[registry]]` entries of a parsed file. */
export function registryEntries(doc: Table, path: string): RegistryEntry[] {
  const registries = doc.registry;
  if (registries === undefined) return [];
  if (!Array.isArray(registries)) throw invalid(path, "registry must be an array of tables ([[registry]])");
  return (registries as Table[]).map((entry, i) => {
    const where = `[[registry]] ${i + 1}`;
    const location = str(entry, "location", path, where) ?? "";
    const prefix = str(entry, "prefix", path, where) ?? location;
    if (prefix === "") throw invalid(path, `${where} has neither prefix nor location`);
    const mirrors = entry.mirror === undefined ? [] : entry.mirror;
    if (!Array.isArray(mirrors)) throw invalid(path, `${where}: mirror must be [[registry.mirror]] tables`);
    return {
      prefix,
      location,
      insecure: bool(entry, "insecure", path, where) ?? false,
      blocked: bool(entry, "blocked", path, where) ?? false,
      mirrorByDigestOnly: bool(entry, "mirror-by-digest-only", path, where) ?? false,
      mirrors: (mirrors as Table[]).map((m, j) => {
        const at = `${where}, [[registry.mirror]] ${j + 1}`;
        const mirrorLocation = str(m, "location", path, at);
        if (!mirrorLocation) throw invalid(path, `${at} has no location`);
        const pull = str(m, "pull-from-mirror", path, at) ?? "all";
        if (!["all", "digest-only", "tag-only"].includes(pull)) {
          throw invalid(
            path,
            `${at}: pull-from-mirror must be all, digest-only or tag-only, not ${quoteForMessage(pull)}`,
          );
        }
        return {
          location: mirrorLocation,
          insecure: bool(m, "insecure", path, at) ?? false,
          pullFromMirror: pull as PullFromMirror,
        };
      }),
    };
  });
}

function str(table: Table, key: string, path: string, where: string): string | undefined {
  const v = table[key];
  if (v === undefined) return undefined;
  if (typeof v !== "string") throw invalid(path, `${where}: ${key} must be a string`);
  return v;
}

function bool(table: Table, key: string, path: string, where: string): boolean | undefined {
  const v = table[key];
  if (v === undefined) return undefined;
  if (typeof v !== "boolean") throw invalid(path, `${where}: ${key} must be true or false`);
  return v;
}

function invalid(path: string, reason: string): Oci2LxcError {
  return new Oci2LxcError("usage", `Cannot read ${path}: ${reason}`, {
    hint: "Fix the file (see containers-registries.conf(5)), or give --registries-conf FILE",
  });
}

/**
 * Parse the TOML subset described above into nested tables.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseToml } from "./registries_conf.ts";
 * const doc = parseToml('[[registry]]\nprefix = "docker.io"\n[[registry.mirror]]\nlocation = "m:5000"\n', "x");
 * assert(JSON.stringify(doc) === '{"registry":[{"prefix":"docker.io","mirror":[{"location":"m:5000"}]}]}');
 * ```
 */
export function parseToml(text: string, path: string): Table {
  const root: Table = {};
  let current: Table = root;
  const s = text.replace(/\r\n/g, "\n");
  let i = 0;
  let line = 1;
  const fail = (reason: string) => invalid(path, `line ${line}: ${reason}`);
  const skipSpace = (newlines: boolean) => {
    for (;;) {
      const c = s[i];
      if (c === " " || c === "\t") i++;
      else if (c === "#") { while (i < s.length && s[i] !== "\n") i++; }
      else if (newlines && c === "\n") {
        i++;
        line++;
      } else return;
    }
  };
  const key = (): string => {
    if (s[i] === '"' || s[i] === "'") return string();
    const m = /^[A-Za-z0-9_-]+/.exec(s.slice(i, i + 256));
    if (!m) throw fail("expected a key");
    i += m[0].length;
    return m[0];
  };
  const dotted = (): string[] => {
    const parts = [key()];
    skipSpace(false);
    while (s[i] === ".") {
      i++;
      skipSpace(false);
      parts.push(key());
      skipSpace(false);
    }
    return parts;
  };
  const string = (): string => {
    const quote = s[i]!;
    if (s.startsWith(quote.repeat(3), i)) throw fail("multi-line strings are not supported");
    i++;
    let out = "";
    for (;;) {
      const c = s[i++];
      if (c === undefined || c === "\n") throw fail("unterminated string");
      if (c === quote) return out;
      if (c === "\\" && quote === '"') {
        const e = s[i++];
        const simple: Record<string, string> = { b: "\b", t: "\t", n: "\n", f: "\f", r: "\r", '"': '"', "\\": "\\" };
        if (e !== undefined && simple[e] !== undefined) out += simple[e];
        else if (e === "u" || e === "U") {
          const n = e === "u" ? 4 : 8;
          const hex = s.slice(i, i + n);
          if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== n) throw fail("bad \\u escape");
          out += String.fromCodePoint(parseInt(hex, 16));
          i += n;
        } else throw fail(`bad escape \\${e ?? ""}`);
      } else out += c;
    }
  };
  const value = (): Value => {
    const c = s[i];
    if (c === '"' || c === "'") return string();
    if (c === "[") {
      i++;
      const items: Value[] = [];
      // Bounded by the text: each round consumes a value or the closing bracket.
      for (;;) {
        skipSpace(true);
        if (s[i] === "]") {
          i++;
          return items;
        }
        items.push(value());
        skipSpace(true);
        if (s[i] === ",") i++;
        else if (s[i] !== "]") throw fail("expected , or ] in an array");
      }
    }
    const m = /^(true|false|[+-]?\d[\d_]*)(?=[\s,\]#]|$)/.exec(s.slice(i, i + 64));
    if (!m) throw fail("expected a string, boolean, integer or array");
    i += m[0].length;
    return m[1] === "true" ? true : m[1] === "false" ? false : Number(m[1]!.replace(/_/g, ""));
  };
  const descend = (parts: string[], array: boolean): Table => {
    let table = root;
    parts.forEach((part, n) => {
      const last = n === parts.length - 1;
      const existing = table[part];
      if (last && array) {
        if (existing !== undefined && !Array.isArray(existing)) throw fail(`${part} is not an array of tables`);
        const list = (existing as Table[] | undefined) ?? [];
        const fresh: Table = {};
        list.push(fresh);
        table[part] = list;
        table = fresh;
      } else if (existing === undefined) {
        const fresh: Table = {};
        table[part] = fresh;
        table = fresh;
      } else if (Array.isArray(existing)) {
        // [[registry.mirror]] belongs to the last [[registry]].
        const lastTable = existing.at(-1);
        if (typeof lastTable !== "object" || lastTable === null || Array.isArray(lastTable)) {
          throw fail(`${part} is an array of values, not of tables`);
        }
        table = lastTable as Table;
      } else if (typeof existing === "object") table = existing as Table;
      else throw fail(`${part} is a value, not a table`);
    });
    return table;
  };
  for (;;) {
    skipSpace(true);
    if (i >= s.length) return root;
    if (s[i] === "[") {
      const array = s[i + 1] === "[";
      i += array ? 2 : 1;
      skipSpace(false);
      const parts = dotted();
      if (s[i] !== "]" || (array && s[i + 1] !== "]")) throw fail("expected ] after a table name");
      i += array ? 2 : 1;
      current = descend(parts, array);
    } else {
      const parts = dotted();
      if (s[i] !== "=") throw fail("expected = after a key");
      i++;
      skipSpace(false);
      const v = value();
      let table = current;
      for (const part of parts.slice(0, -1)) {
        const next = table[part];
        if (next === undefined) table = table[part] = {} as Table;
        else if (typeof next === "object" && !Array.isArray(next)) table = next as Table;
        else throw fail(`${part} is not a table`);
      }
      const last = parts.at(-1)!;
      if (last in table) throw fail(`${parts.join(".")} is given twice`);
      table[last] = v;
    }
    skipSpace(false);
    if (i < s.length && s[i] !== "\n") throw fail("expected the end of the line");
  }
}
