/**
 * Quoting an argv for `lxc.init.cmd` so that LXC's own splitter reads back exactly the same argv, and refusing what it
 * cannot represent.
 *
 * Two splitters exist, both read in LXC's source and checked with real containers (tests/lxc/quote_init_cmd_lxc_test.ts
 * on LXC 5.0.2, tests/e2e/lxc6_start_test.ts on LXC 5.0.2 and 6.0.4):
 *
 * - `"space"`: how LXC 5 splits `lxc.init.cmd` for `lxc-start` (`split_init_cmd` in src/lxc/lxccontainer.c,
 *   `lxc_iterate_parts` on `" "`, tags lxc-5.0.0 to lxc-5.0.3). Words are separated by runs of spaces; there is no
 *   quoting and no escaping: tabs, quotes, backslashes, `$`, `#` are literal. An argument that is empty or holds a
 *   space cannot be represented.
 * - `"quoted"`: `lxc_string_split_quoted` (src/lxc/string_utils.c, the same code in every tag v6.0.0 to v6.0.6 and
 *   v7.0.0), which LXC 6 uses for `lxc.init.cmd` (`do_lxcapi_start` in lxccontainer.c) and LXC 5 for `lxc.execute.cmd`
 *   under `lxc-execute`. Words are separated by C `isspace` characters; a word that starts with `'` or `"` runs to the
 *   next identical quote (the character after it starts the next word, blank or not); quotes elsewhere are literal;
 *   there are no escapes ("TODO I'm *not* handling escaped quote"); an unterminated quoted word is dropped. An argument
 *   holding both quote characters and needing quotes cannot be represented.
 * - `"portable"`: only what both splitters read the same way: no blanks, no leading quote, not empty. What the config
 *   renderer writes whenever it can, so a host upgrade from LXC 5 to 6 does not change the argv.
 *
 * The config parser's own trimming and outer-quote stripping are handled by the line writer (`encodeConfigValue` in
 * config_value.ts), not here.
 *
 * @module
 */
import { Oci2LxcError } from "../errors.ts";
import { findForbiddenChar } from "./config_value.ts";

/** Which LXC splitter will read the value. */
export type InitCmdSplitter = "space" | "quoted" | "portable";

/** Options for {@linkcode quoteInitCmd}. */
export interface QuoteInitCmdOptions {
  /** The splitter of the LXC that will run the config. */
  splitter: InitCmdSplitter;
  /** Names of the arguments for messages, e.g. `Cmd[1] of the image config`; default `argument N`. */
  names?: readonly (string | undefined)[];
}

// C isspace() in the C locale.
const C_SPACE = /[ \t\n\v\f\r]/;

function isQuote(ch: string | undefined): boolean {
  return ch === "'" || ch === '"';
}

function refuse(what: string, arg: string, why: string, hint: string): never {
  throw new Oci2LxcError(
    "config",
    `Cannot use ${what} (${JSON.stringify(arg)}) in lxc.init.cmd: ${why}`,
    { hint },
  );
}

const SPACE_HINT =
  "LXC 5 has no quoting in lxc.init.cmd; give a command without such arguments (--entrypoint/--cmd), or run it through a shell in the image";

function quoteOne(
  arg: string,
  what: string,
  splitter: InitCmdSplitter,
): string {
  const bad = findForbiddenChar(arg);
  if (bad !== undefined) {
    refuse(
      what,
      arg,
      `it contains ${bad}`,
      "Remove control characters from the command",
    );
  }
  if (splitter === "space") {
    if (arg === "") {
      refuse(
        what,
        arg,
        "LXC 5 splits lxc.init.cmd at spaces, so an empty argument is lost",
        SPACE_HINT,
      );
    }
    if (arg.includes(" ")) {
      refuse(what, arg, "LXC 5 splits lxc.init.cmd at every space", SPACE_HINT);
    }
    return arg;
  }
  const needsQuotes = arg === "" || C_SPACE.test(arg) || isQuote(arg[0]);
  if (!needsQuotes) return arg;
  if (splitter === "portable") {
    refuse(
      what,
      arg,
      "it needs quotes, and LXC versions split lxc.init.cmd differently",
      'Run the command through the image\'s shell (renderLxcConfig does when the image has /bin/sh), or quote for LXC 6 only (splitter: "quoted")',
    );
  }
  if (!arg.includes("'")) return `'${arg}'`;
  if (!arg.includes('"')) return `"${arg}"`;
  return refuse(
    what,
    arg,
    "it needs quotes and holds both quote characters, and LXC's splitter has no escapes",
    "Give a command without such arguments (--entrypoint/--cmd)",
  );
}

/**
 * Quote `argv` for `lxc.init.cmd` (or `lxc.execute.cmd`) so that the given splitter reads back exactly `argv`. Throws
 * an `Oci2LxcError` ("config") naming the argument and the reason when it cannot.
 *
 * @example A command with a space, for LXC 6 and for LXC 5
 * ```ts
 * import assert from "node:assert/strict";
 * import { quoteInitCmd } from "./quote_init_cmd.ts";
 * const argv = ["nginx", "-g", "daemon off;"];
 * assert.equal(quoteInitCmd(argv, { splitter: "quoted" }), "nginx -g 'daemon off;'");
 * let refused = false;
 * try {
 *   quoteInitCmd(argv, { splitter: "space" });
 * } catch {
 *   refused = true;
 * }
 * assert(refused);
 * ```
 */
export function quoteInitCmd(
  argv: readonly string[],
  options: QuoteInitCmdOptions,
): string {
  if (argv.length === 0) {
    throw new Oci2LxcError(
      "config",
      "Cannot write lxc.init.cmd: the command is empty",
      {
        hint: "Give a command with --cmd or --entrypoint",
      },
    );
  }
  return argv.map((arg, i) => quoteOne(arg, options.names?.[i] ?? `argument ${i}`, options.splitter)).join(" ");
}

/**
 * Split a value the way LXC does after its config parser has read it: the model the quoting is built on, kept next to
 * it so the real-LXC test can check model and quoting together. `"portable"` splits like `"space"`.
 */
export function splitInitCmdLikeLxc(
  value: string,
  splitter: InitCmdSplitter,
): string[] {
  if (splitter !== "quoted") return value.split(" ").filter((w) => w !== "");
  const words: string[] = [];
  let state: "blank" | "word" | "'" | '"' = "blank";
  let start = 0;
  for (let i = 0; i < value.length; i++) {
    const ch = value[i]!;
    if (state === "blank") {
      if (C_SPACE.test(ch)) continue;
      start = i;
      state = ch === "'" || ch === '"' ? ch : "word";
    } else if (state === "word") {
      if (C_SPACE.test(ch)) {
        words.push(value.slice(start, i));
        state = "blank";
      }
    } else if (ch === state) {
      words.push(value.slice(start + 1, i));
      state = "blank";
    }
  }
  // An unterminated quoted word is dropped, as LXC does.
  if (state === "word") words.push(value.slice(start));
  return words;
}
