/**
 * Messages in one voice (docs/design-notes.md, "Messages"): a warning starts lower-case (unless with a name written as
 * it is, like PATH, LXC or a path) and names its layer once; a hint starts upper-case; neither ends with a period; a
 * flag a hint names is one the CLI has.
 */
import assert from "node:assert/strict";
import { withTempDir } from "./_helpers/oci_builder.ts";
import { writeOciDir } from "./_helpers/oci_builder.ts";
import { COMMANDS } from "../cli/run_cli.ts";
import { COMMON_OPTIONS } from "../cli/commands.ts";
import { REGISTRY_OPTIONS } from "../cli/registry_options.ts";
import { convert } from "../mod.ts";

const ROOT = new URL("../", import.meta.url);

/** Flags of other programs that hints quote, each with the program it belongs to. */
const FOREIGN_FLAGS: Record<string, string> = {
  "--allow-ffi": "deno run",
  "--format": "podman save",
  "--version": "lxc-start",
  "--unprivileged": "lxc-create",
  "--dir": "lxc-create",
  "--long": "zstd",
};

function* sourceFiles(dir: URL): Generator<URL> {
  for (const entry of [...Deno.readDirSync(dir)].sort((a, b) => a.name < b.name ? -1 : 1)) {
    if (entry.isDirectory) yield* sourceFiles(new URL(`${entry.name}/`, dir));
    else if (entry.name.endsWith(".ts")) yield new URL(entry.name, dir);
  }
}

/** A string literal in source: where it is, its text (template holes kept as `${…}`), what comes before it. */
interface Literal {
  where: string;
  text: string;
  /** The expression's first literal, or one after `?` or `:` (a branch): its start is the message's start. */
  starts: boolean;
  /** The expression's last literal, or one before `:` or at a branch's end: its end is the message's end. */
  ends: boolean;
}

/**
 * The string literals of the expression that starts at `from` in `source` and ends at a `,`, `)` or `}` outside any
 * bracket: what a `hint:` property or a warning call's argument says.
 */
function expressionLiterals(source: string, from: number, where: string): Literal[] {
  const literals: Literal[] = [];
  let depth = 0;
  let previous = "start"; // the last significant token outside literals
  for (let i = from; i < source.length; i++) {
    const c = source[i]!;
    if (c === '"' || c === "'" || c === "`") {
      let j = i + 1;
      let holes = 0;
      for (; j < source.length; j++) {
        if (source[j] === "\\") j++;
        else if (c === "`" && source[j] === "$" && source[j + 1] === "{") holes++;
        else if (c === "`" && source[j] === "}" && holes > 0) holes--;
        else if (source[j] === c && holes === 0) break;
      }
      const text = source.slice(i + 1, j);
      if (depth === 0) {
        literals.push({
          where,
          text,
          starts: previous === "start" || previous === "?" || previous === ":",
          ends: false,
        });
      }
      previous = "literal";
      i = j;
      continue;
    }
    if (/\s/.test(c)) continue;
    if (c === "(" || c === "[" || c === "{") depth++;
    else if ((c === ")" || c === "]" || c === "}") && depth > 0) depth--;
    else if (depth === 0 && (c === "," || c === ")" || c === "}" || c === ";")) break;
    if (depth === 0 && (c === "?" || c === ":") && previous === "literal" && literals.length > 0) {
      literals[literals.length - 1]!.ends = true;
    }
    previous = depth === 0 && (c === "?" || c === ":") ? c : "other";
  }
  if (previous === "literal" && literals.length > 0) literals[literals.length - 1]!.ends = true;
  return literals;
}

function productFiles(): URL[] {
  return [...["core/", "cli/", "plugins/"].flatMap((dir) => [...sourceFiles(new URL(dir, ROOT))])];
}

function lineOf(source: string, index: number): number {
  return source.slice(0, index).split("\n").length;
}

/** Every hint the product gives: `hint:` properties and `hint: ` lines printed directly. */
function hints(): Literal[] {
  const found: Literal[] = [];
  for (const file of productFiles()) {
    const source = Deno.readTextFileSync(file);
    const name = file.pathname.slice(ROOT.pathname.length);
    for (const m of source.matchAll(/(?<![\w."'`])hint:(?!\s*(string|undefined|\w+\.hint))/g)) {
      if (/^\s*\*/.test(source.slice(source.lastIndexOf("\n", m.index) + 1, m.index))) continue; // a doc comment
      found.push(...expressionLiterals(source, m.index + m[0].length, `${name}:${lineOf(source, m.index)}`));
    }
    for (const m of source.matchAll(/printErr\("hint: ([^"]*)"\)/g)) {
      found.push({ where: `${name}:${lineOf(source, m.index)}`, text: m[1]!, starts: true, ends: true });
    }
  }
  return found;
}

/** Every warning's text the product gives directly to a warn function or a warnings list. */
function warnings(): Literal[] {
  const found: Literal[] = [];
  for (const file of productFiles()) {
    const source = Deno.readTextFileSync(file);
    const name = file.pathname.slice(ROOT.pathname.length);
    // net_spec.ts gathers its warnings in `out`.
    const call = name.endsWith("net_spec.ts") ? /\bout\.push\(/g : /(?:\bwarn|#warn|onWarning\?\.|warnings\.push)\(/g;
    for (const m of source.matchAll(call)) {
      if (/^\s*\*/.test(source.slice(source.lastIndexOf("\n", m.index) + 1, m.index))) continue;
      // #warn(code, entry, message) of the rootfs writer: the message is the third argument.
      let from = m.index + m[0].length;
      if (m[0] === "#warn(" && name.endsWith("rootfs_writer.ts")) {
        for (let commas = 0; commas < 2 && from < source.length; from++) if (source[from] === ",") commas++;
      }
      found.push(...expressionLiterals(source, from, `${name}:${lineOf(source, m.index)}`));
    }
  }
  return found;
}

Deno.test("every flag a hint names is an option of the CLI (or of the other program it quotes)", () => {
  const ours = new Set([
    ...Object.keys(COMMON_OPTIONS),
    ...COMMANDS.flatMap((c) => Object.keys(c.options)),
    // Declared for registry references, which no command takes yet: core/registry's hints name them already.
    ...Object.keys(REGISTRY_OPTIONS),
  ].map((name) => `--${name}`));
  const unknown: string[] = [];
  for (const hint of hints()) {
    for (const flag of hint.text.matchAll(/(?<![\w-])--[a-z][a-z0-9-]*/g)) {
      if (!ours.has(flag[0]) && !(flag[0] in FOREIGN_FLAGS)) {
        unknown.push(`${hint.where}: ${flag[0]} in "${hint.text}"`);
      }
    }
  }
  assert.deepEqual(unknown, []);
});

Deno.test("hints start upper-case and end without a period", () => {
  const all = hints();
  const wrong = all.filter((h) =>
    (h.starts && !/^([A-Z]|\$\{|$)/.test(h.text)) || (h.ends && /\.$/.test(h.text) && !/(e\.g|etc)\.$/.test(h.text))
  ).map((h) => `${h.where}: "${h.text}"`);
  assert.deepEqual(wrong, []);
  assert.deepEqual(all.length > 80, true, `found only ${all.length} hints`);
});

Deno.test("warnings start lower-case (or with a name such as PATH or LXC) and end without a period", () => {
  const all = warnings();
  const wrong = all.filter((w) => (w.starts && /^[A-Z][a-z]/.test(w.text)) || (w.ends && /\.$/.test(w.text)))
    .map((w) => `${w.where}: "${w.text}"`);
  assert.deepEqual(wrong, []);
  assert.deepEqual(all.length > 40, true, `found only ${all.length} warnings`);
});

/** A layer with a pax ACL record naming a user (skipped with a warning) and an entry with `..` in its name. */
async function layerWithWarnings(dir: string): Promise<Uint8Array> {
  const script = `
import io, tarfile
t = tarfile.open(${JSON.stringify(`${dir}/layer.tar`)}, "w", format=tarfile.PAX_FORMAT)
for name, pax in [("named", {"SCHILY.acl.access": "user::rw-,user:daemon:r--,group::r--,mask::r--,other::r--"}),
                  ("a/../dotdot", {})]:
    info = tarfile.TarInfo(name)
    info.size = 2
    info.pax_headers = pax
    t.addfile(info, io.BytesIO(b"x\\n"))
t.close()
`;
  const r = await new Deno.Command("python3", { args: ["-c", script], stderr: "piped" }).output();
  if (!r.success) throw new Error(`python3 failed: ${new TextDecoder().decode(r.stderr)}`);
  return await Deno.readFile(`${dir}/layer.tar`);
}

Deno.test("a warning about a layer names the layer once, and one about an entry names the layer and the entry", async () => {
  await withTempDir(async (dir) => {
    const tar = await layerWithWarnings(dir);
    await writeOciDir(`${dir}/image`, [{ tar, compression: "gzip" }], { Cmd: ["/bin/sh"] });
    const seen: string[] = [];
    await convert(`oci:${dir}/image`, `${dir}/ct`, {
      dryRun: true,
      allowApproximate: Deno.uid() !== 0,
      onWarning: (message) => seen.push(message),
    });
    const layer = seen.flatMap((w) => /^layer 1\/1 \(sha256:[0-9a-f]{12}\): /.exec(w) ?? []);
    const about = (what: RegExp) =>
      seen.filter((w) => what.test(w)).map((w) => w.replace(/\(sha256:[0-9a-f]+\)/, "(…)"));
    assert.deepEqual(layer.length >= 2, true, seen.join("\n"));
    assert.deepEqual(about(/pax record/), [
      'layer 1/1 (…): ignoring pax record SCHILY.acl.access in member at byte 0: entry "user:daemon:r--" names daemon ' +
      "instead of a numeric id",
    ]);
    assert.deepEqual(about(/'\.\.'/), ["layer 1/1 (…): a/../dotdot: '..' in name; resolved inside the rootfs"]);
  });
});
