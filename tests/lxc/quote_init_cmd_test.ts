import assert from "node:assert/strict";
import { Oci2LxcError } from "../../core/errors.ts";
import { LxcConfigWriter } from "../../core/lxc/lxc_config_writer.ts";
import { type InitCmdSplitter, quoteInitCmd, splitInitCmdLikeLxc } from "../../core/lxc/quote_init_cmd.ts";
import { parseLxcConfig } from "./_parse_lxc_config.ts";

/** A small seeded PRNG so failures repeat. */
function mulberry32(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** What LXC reads back after the whole path: line writer, config parser, splitter. */
function readBack(value: string, splitter: InitCmdSplitter): string[] {
  const w = new LxcConfigWriter();
  w.entry("lxc.init.cmd", value);
  const [[, parsed]] = parseLxcConfig(w.toString()) as [[string, string]];
  return splitInitCmdLikeLxc(
    parsed,
    splitter === "portable" ? "space" : splitter,
  );
}

const needsQuotes = (a: string) => a === "" || /[ \t]/.test(a) || a[0] === "'" || a[0] === '"';
const REPRESENTABLE: Record<InitCmdSplitter, (argv: string[]) => boolean> = {
  space: (argv) => argv.every((a) => a !== "" && !a.includes(" ")),
  quoted: (argv) => argv.every((a) => !needsQuotes(a) || !a.includes("'") || !a.includes('"')),
  portable: (argv) => argv.every((a) => !needsQuotes(a)),
};

Deno.test("quoteInitCmd reads back exactly what it accepts and refuses exactly what a splitter cannot represent", () => {
  const random = mulberry32(42);
  const alphabet = [
    "a",
    "b",
    " ",
    "\t",
    "'",
    '"',
    "\\",
    "$",
    "#",
    "=",
    "-",
    "é",
    "✓",
  ];
  for (let n = 0; n < 5000; n++) {
    const argv = Array.from({ length: 1 + Math.floor(random() * 4) }, () => {
      const len = Math.floor(random() * 5);
      return Array.from(
        { length: len },
        () => alphabet[Math.floor(random() * alphabet.length)],
      ).join("");
    });
    for (const splitter of ["space", "quoted", "portable"] as const) {
      let value: string | undefined;
      try {
        value = quoteInitCmd(argv, { splitter });
      } catch (err) {
        assert.ok(err instanceof Oci2LxcError && err.code === "config");
      }
      assert.equal(
        value !== undefined,
        REPRESENTABLE[splitter](argv),
        `${splitter} ${JSON.stringify(argv)}`,
      );
      if (value !== undefined) {
        assert.deepEqual(
          readBack(value, splitter),
          argv,
          `${splitter} ${JSON.stringify(argv)} → ${value}`,
        );
      }
      if (value !== undefined && splitter === "portable") {
        assert.deepEqual(readBack(value, "quoted"), argv);
      }
    }
  }
});

Deno.test("quoteInitCmd quotes with single quotes, or double quotes when the argument holds a single quote", () => {
  assert.equal(
    quoteInitCmd(["/x", "a b", "", "it's x", "'q"], { splitter: "quoted" }),
    `/x 'a b' '' "it's x" "'q"`,
  );
  assert.equal(
    quoteInitCmd(["/x", "a\tb", '"q"'], { splitter: "space" }),
    `/x a\tb "q"`,
  );
});

Deno.test("quoteInitCmd names the argument and the reason when it refuses", () => {
  const cases: [string[], InitCmdSplitter, string][] = [
    [
      ["/x", "a b"],
      "space",
      'Cannot use argument 1 ("a b") in lxc.init.cmd: LXC 5 splits lxc.init.cmd at every space',
    ],
    [
      ["/x", ""],
      "space",
      'Cannot use argument 1 ("") in lxc.init.cmd: LXC 5 splits lxc.init.cmd at spaces, so an empty argument is lost',
    ],
    [
      ["/x", `it's "a" b`],
      "quoted",
      `Cannot use argument 1 ("it's \\"a\\" b") in lxc.init.cmd: it needs quotes and holds both quote characters, and LXC's splitter has no escapes`,
    ],
    [
      ["/x", "'a"],
      "portable",
      `Cannot use argument 1 ("'a") in lxc.init.cmd: it needs quotes, and LXC versions split lxc.init.cmd differently`,
    ],
    [
      ["/x", "a\nb"],
      "quoted",
      'Cannot use argument 1 ("a\\nb") in lxc.init.cmd: it contains a line feed',
    ],
  ];
  for (const [argv, splitter, message] of cases) {
    assert.throws(
      () => quoteInitCmd(argv, { splitter }),
      (e: unknown) => e instanceof Oci2LxcError && e.message === message,
      message,
    );
  }
  assert.throws(
    () =>
      quoteInitCmd(["/x", "a b"], {
        splitter: "space",
        names: [undefined, "Cmd[3] of the image config"],
      }),
    /^Oci2LxcError: Cannot use Cmd\[3\] of the image config \("a b"\)/,
  );
  assert.throws(
    () => quoteInitCmd([], { splitter: "space" }),
    /Cannot write lxc.init.cmd: the command is empty/,
  );
});

Deno.test("splitInitCmdLikeLxc drops an unterminated quoted word as LXC does", () => {
  assert.deepEqual(splitInitCmdLikeLxc("a 'b c", "quoted"), ["a"]);
  assert.deepEqual(splitInitCmdLikeLxc("a'b c'", "quoted"), ["a'b", "c'"]);
  assert.deepEqual(splitInitCmdLikeLxc("'a''b'", "quoted"), ["a", "b"]);
  assert.deepEqual(splitInitCmdLikeLxc("  a\tb  c ", "space"), ["a\tb", "c"]);
});
