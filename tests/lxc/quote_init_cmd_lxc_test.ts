/**
 * The quoting table, checked with the real LXC: each argv is quoted by
 * quoteInitCmd, written by LxcConfigWriter, and run; the container's script
 * records the arguments it received. `space` runs `lxc-start` with
 * `lxc.init.cmd`; `quoted` runs `lxc-execute` with `lxc.execute.cmd`
 * (LXC 5.0.2's `lxc_string_split_quoted`) and `lxc-start` of LXC 6.0.4
 * (`lxc6-start`: from the cached Debian 13 root, tests/e2e/_lxc6.ts), which
 * splits `lxc.init.cmd` with that same function; `portable` output runs
 * every way.
 * For every argv the quoting refuses, the naive rendering is run too, to show
 * that LXC really would change it.
 */
import assert from "node:assert/strict";
import { Oci2LxcError } from "../../core/errors.ts";
import { LxcConfigWriter } from "../../core/lxc/lxc_config_writer.ts";
import { type InitCmdSplitter, quoteInitCmd, splitInitCmdLikeLxc } from "../../core/lxc/quote_init_cmd.ts";
import { parseLxcConfig } from "./_parse_lxc_config.ts";
import { Lxc6Host } from "../e2e/_lxc6.ts";
import { INIT_LXC, LxcSandbox, pool, requireLxc, SKIP_LXC, uniqueName } from "./_real_lxc.ts";
import { systemTest } from "../_helpers/tier.ts";

/** `lxc6-start`: lxc-start of LXC 6, which splits lxc.init.cmd like lxc-execute of LXC 5 does lxc.execute.cmd. */
type Tool = "lxc-start" | "lxc-execute" | "lxc6-start";

type Outcome = "ok" | "refused";
interface Case {
  readonly label: string;
  /** argv[0] (default /print) and the arguments the script should see. */
  readonly argv0?: string;
  readonly args: readonly string[];
  readonly space: Outcome;
  readonly quoted: Outcome;
}

const CASES: readonly Case[] = [
  { label: "plain words", args: ["a", "b"], space: "ok", quoted: "ok" },
  { label: "a space", args: ["a b", "c"], space: "refused", quoted: "ok" },
  { label: "a tab inside", args: ["a\tb"], space: "ok", quoted: "ok" },
  {
    label: "a tab at the very end",
    args: ["x", "end\t"],
    space: "ok",
    quoted: "ok",
  },
  { label: "a single quote", args: ["it's"], space: "ok", quoted: "ok" },
  {
    label: "double quotes and a space",
    args: ['say "hi"'],
    space: "refused",
    quoted: "ok",
  },
  {
    label: "a leading double quote",
    args: ['"hi"', "x"],
    space: "ok",
    quoted: "ok",
  },
  {
    label: "a leading single quote",
    args: ["'x", "y"],
    space: "ok",
    quoted: "ok",
  },
  {
    label: "both quotes, no blank",
    args: [`a'b"c`],
    space: "ok",
    quoted: "ok",
  },
  {
    label: "both quotes and a space",
    args: [`it's "x" y`],
    space: "refused",
    quoted: "refused",
  },
  {
    label: "backslashes",
    args: ["back\\slash", "\\n", "\\"],
    space: "ok",
    quoted: "ok",
  },
  {
    label: "dollar signs",
    args: ["$HOME", "${PATH}", "$(id)", "`id`"],
    space: "ok",
    quoted: "ok",
  },
  {
    label: "equals signs",
    args: ["a=b", "--opt=value", "="],
    space: "ok",
    quoted: "ok",
  },
  {
    label: "an empty argument",
    args: ["x", "", "y"],
    space: "refused",
    quoted: "ok",
  },
  {
    label: "leading dashes",
    args: ["-x", "--", "-"],
    space: "ok",
    quoted: "ok",
  },
  { label: "unicode", args: ["ünï", "✓", "日本"], space: "ok", quoted: "ok" },
  {
    label: "unicode with a space",
    args: ["unicodé ✓"],
    space: "refused",
    quoted: "ok",
  },
  {
    label: "hashes",
    args: ["#comment", "a#b", "#"],
    space: "ok",
    quoted: "ok",
  },
  {
    label: "shell operators",
    args: ["a;b", "|", "&&", ">x", "*"],
    space: "ok",
    quoted: "ok",
  },
  // The whole value starts and ends with the same quote: the config parser
  // would strip the pair unless the line writer protects it.
  {
    label: "argv[0] and the last argument quoted alike",
    argv0: "'p",
    args: ["x'"],
    space: "ok",
    quoted: "ok",
  },
];

function argvOf(c: Case): string[] {
  return [c.argv0 ?? "/print", ...c.args];
}

/** What quoteInitCmd says for this case and splitter. */
function quoteOrRefuse(
  argv: readonly string[],
  splitter: InitCmdSplitter,
): string | Oci2LxcError {
  try {
    return quoteInitCmd(argv, { splitter });
  } catch (err) {
    if (err instanceof Oci2LxcError) return err;
    throw err;
  }
}

/** The rendering a tool without our checks would write (Proxmox-style for quoted). */
function naive(argv: readonly string[], splitter: InitCmdSplitter): string {
  if (splitter === "space") return argv.join(" ");
  return argv.map((a) => /^[A-Za-z0-9_\/.=-]+$/.test(a) ? a : `'${a}'`).join(
    " ",
  );
}

/** Run `value` as the command with the given tool; return the arguments the script saw. */
async function runCommand(
  value: string,
  tool: Tool,
  lxc6: Lxc6Host | undefined,
): Promise<string[] | undefined> {
  await using box = new LxcSandbox(uniqueName("q"));
  Deno.symlinkSync("/print", `${box.rootfs}/bin/'p`);
  const w = new LxcConfigWriter();
  w.entry(tool === "lxc-execute" ? "lxc.execute.cmd" : "lxc.init.cmd", value);
  box.writeConfig(box.baseConfig + w.toString());
  const result = tool === "lxc6-start" ? await box.run("lxc-start", lxc6) : await box.run(tool);
  return result.args;
}

function show(argv: readonly string[] | undefined): string {
  return argv === undefined ? "(did not run)" : JSON.stringify(argv);
}

async function checkTable(
  splitter: InitCmdSplitter,
  tools: readonly Tool[],
): Promise<void> {
  requireLxc();
  await using lxc6 = tools.includes("lxc6-start") ? await Lxc6Host.open() : undefined;
  interface Job {
    readonly c: Case;
    readonly tool: Tool;
    readonly value: string;
    readonly refused: boolean;
  }
  const jobs: Job[] = [];
  const problems: string[] = [];
  for (const c of CASES) {
    const argv = argvOf(c);
    const expected: Outcome = splitter === "portable"
      ? (c.space === "ok" && c.quoted === "ok" &&
          splitInitCmdLikeLxc(argv.join(" "), "quoted").join("\0") ===
            argv.join("\0")
        ? "ok"
        : "refused")
      : c[splitter];
    const quoted = quoteOrRefuse(argv, splitter);
    if (expected === "ok") {
      if (quoted instanceof Oci2LxcError) {
        problems.push(`${c.label}: refused unexpectedly: ${quoted.message}`);
        continue;
      }
      for (const tool of tools) {
        jobs.push({ c, tool, value: quoted, refused: false });
      }
    } else {
      if (!(quoted instanceof Oci2LxcError)) {
        problems.push(
          `${c.label}: expected a refusal, got ${JSON.stringify(quoted)}`,
        );
        continue;
      }
      assert.match(
        quoted.message,
        /^Cannot use argument \d+ \(".*"\) in lxc\.init\.cmd: /s,
      );
      if (splitter === "portable") {
        // Refused because the splitters disagree: what LXC 6 would need is misread by LXC 5.
        const forQuoted = quoteOrRefuse(argv, "quoted");
        const value = typeof forQuoted === "string" ? forQuoted : naive(argv, "space");
        jobs.push({ c, tool: "lxc-start", value, refused: true });
        // And what LXC 5 alone would take as it is, LXC 6 misreads (unless both agree after all).
        if (c.space === "ok" && tools.includes("lxc6-start")) {
          jobs.push({ c, tool: "lxc6-start", value: naive(argv, "space"), refused: true });
        }
      } else {
        for (const tool of tools) {
          jobs.push({ c, tool, value: naive(argv, splitter), refused: true });
        }
      }
    }
  }
  const seen = await pool(jobs, 8, (job) => runCommand(job.value, job.tool, lxc6));
  jobs.forEach((job, i) => {
    const got = seen[i];
    const want = job.c.args;
    const same = got !== undefined && got.length === want.length &&
      got.every((a, k) => a === want[k]);
    if (!job.refused && !same) {
      problems.push(
        `${job.c.label} (${job.tool}): wrote ${JSON.stringify(job.value)}, wanted ${show(want)}, got ${show(got)}`,
      );
    }
    if (job.refused && same) {
      problems.push(
        `${job.c.label} (${job.tool}): refused, but LXC read the naive ${JSON.stringify(job.value)} correctly`,
      );
    }
    // The model of LXC's parser and splitter must predict what LXC did.
    if (got !== undefined) {
      const w = new LxcConfigWriter();
      w.entry("lxc.init.cmd", job.value);
      const [[, value]] = parseLxcConfig(w.toString()) as [[string, string]];
      const model = splitInitCmdLikeLxc(
        value,
        job.tool === "lxc-start" ? "space" : "quoted",
      ).slice(1);
      if (JSON.stringify(model) !== JSON.stringify(got)) {
        problems.push(
          `${job.c.label} (${job.tool}): the model predicts ${show(model)}, LXC gave ${show(got)}`,
        );
      }
    }
  });
  assert.deepEqual(problems, []);
}

systemTest({
  name: "quoteInitCmd output for LXC 5 (space splitter) reads back exactly under lxc-start, and refusals are real",
  ignore: SKIP_LXC,
  fn: () => checkTable("space", ["lxc-start"]),
});

systemTest({
  name: "quoteInitCmd output for lxc_string_split_quoted reads back exactly under lxc-execute, and refusals are real",
  ignore: SKIP_LXC,
  fn: () => checkTable("quoted", ["lxc-execute"]),
});

systemTest({
  name:
    "quoteInitCmd output for LXC 6 (quoted splitter) reads back exactly under LXC 6's lxc-start, and refusals are real",
  ignore: SKIP_LXC,
  fn: () => checkTable("quoted", ["lxc6-start"]),
});

systemTest({
  name: "quoteInitCmd portable output reads back exactly under LXC 5's and LXC 6's lxc-start and lxc-execute",
  ignore: SKIP_LXC,
  fn: () => checkTable("portable", ["lxc-start", "lxc-execute", "lxc6-start"]),
});

systemTest({
  name: "init.lxc passes the argv after -- to the command unchanged",
  ignore: SKIP_LXC,
  async fn() {
    requireLxc();
    await using box = new LxcSandbox(uniqueName("i"));
    const args = ["it's", "$HOME", "a=b", "-x", "\\", "#x", "ünï", '"q"'];
    const w = new LxcConfigWriter();
    w.entry(
      "lxc.mount.entry",
      `${INIT_LXC} .lxcinit none bind,create=file,ro 0 0`,
    );
    w.entry(
      "lxc.init.cmd",
      quoteInitCmd(["/.lxcinit", "-n", box.name, "--", "/print", ...args], {
        splitter: "space",
      }),
    );
    box.writeConfig(box.baseConfig + w.toString());
    const r = await box.run();
    assert.deepEqual(r.args, args, r.log);
  },
});
