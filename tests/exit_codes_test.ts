/**
 * The exit codes scripts rely on: one number per error class, the same in `EXIT_CODES` and in README's "Exit codes"
 * table (docs/design-notes.md, "Exit codes"; `--help` prints its list from `EXIT_CODES`). The README table is parsed,
 * so the doc cannot drift.
 */
import assert from "node:assert/strict";
import { type ErrorCode, EXIT_CODES, Oci2LxcError, UNEXPECTED_EXIT_CODE } from "../mod.ts";
import { reportError } from "../cli/output.ts";

const README = new URL("../README.md", import.meta.url);

/** The rows of README's "Exit codes" table: code, class (empty for 0 and 1). */
function readmeExitCodes(): Array<{ code: number; name: string }> {
  const text = Deno.readTextFileSync(README);
  const section = text.split(/^## /m).find((s) => s.startsWith("Exit codes\n"));
  assert(section, "README has a section ## Exit codes");
  const rows = section.split("\n").filter((l) => /^\| *\d+ *\|/.test(l));
  return rows.map((row) => {
    const cells = row.split("|").map((c) => c.trim());
    return { code: Number(cells[1]), name: cells[2]! };
  });
}

Deno.test("EXIT_CODES gives every error class a number of its own, none of them 0, 1 or a shell's (126 and up but 130)", () => {
  const numbers = Object.values(EXIT_CODES);
  assert.deepEqual(new Set(numbers).size, numbers.length, `shared numbers: ${JSON.stringify(EXIT_CODES)}`);
  for (const [code, n] of Object.entries(EXIT_CODES)) {
    assert(Number.isInteger(n) && n > UNEXPECTED_EXIT_CODE && n < 256, `${code}: ${n}`);
    if (code !== "interrupted") assert(n < 126, `${code}: ${n} is the shell's`);
  }
  assert.deepEqual(UNEXPECTED_EXIT_CODE, 1);
  assert.deepEqual([EXIT_CODES.usage, EXIT_CODES.interrupted], [2, 130], "the conventional ones stay");
  assert(Object.isFrozen(EXIT_CODES), "a plugin cannot renumber them for everyone");
});

Deno.test("README's exit code table lists exactly EXIT_CODES, plus 0 and 1", () => {
  const expected = [
    { code: 0, name: "" },
    { code: UNEXPECTED_EXIT_CODE, name: "" },
    ...(Object.entries(EXIT_CODES) as Array<[ErrorCode, number]>).map(([name, code]) => ({ code, name })),
  ].sort((a, b) => a.code - b.code);
  assert.deepEqual(readmeExitCodes(), expected);
});

Deno.test("an Oci2LxcError exits with its class's code, anything else with 1", () => {
  for (const [code, n] of Object.entries(EXIT_CODES) as Array<[ErrorCode, number]>) {
    const err = new Oci2LxcError(code, "Cannot test: on purpose");
    assert.deepEqual(err.exitCode, n, code);
  }
  // reportError prints to stderr; what matters here is the number it returns.
  assert.deepEqual(reportError(new Oci2LxcError("digest", "Cannot test: on purpose"), false), EXIT_CODES.digest);
  assert.deepEqual(reportError(new TypeError("x is undefined"), false), UNEXPECTED_EXIT_CODE);
});
