/**
 * `deno task compile`: build the single binary `dist/oci2lxc` with
 * `deno compile`, which joins the program to denort, Deno's runtime for
 * compiled programs. Deno downloads denort from dl.deno.land unless the
 * environment variable DENORT_BIN names a local copy (it must be the denort
 * of the same Deno version, for the target's platform). When denort cannot
 * be had, this says so in one `error: Cannot compile: …` line and a hint.
 *
 * Usage: deno run -A scripts/compile.ts [--output PATH] [--target TRIPLE]
 *
 * Permissions baked into the binary: every command but the DHCP hook needs
 * exactly --allow-read --allow-write --allow-ffi --allow-run --allow-env
 * --allow-net (checked by running the bundle with only those through convert,
 * verify, inspect --plan, pull, plugins and version, also from a registry). The DHCP hook that LXC runs reads
 * /proc (a process's network namespace, its stat, our own fds), and Deno 2.9
 * lets only --allow-all read /proc; so the binary gets --allow-all. With
 * --allow-ffi and --allow-run granted, that adds no real power.
 *
 * @module
 */

/** What every command but `hook dhcp` needs. */
export const NEEDED = [
  "--allow-read",
  "--allow-write",
  "--allow-ffi",
  "--allow-run",
  "--allow-env",
  "--allow-net",
] as const;

/** What the binary is compiled with: see the module doc for why it is not {@linkcode NEEDED}. */
export const PERMISSIONS = ["--allow-all"] as const;

/**
 * V8 flags of every launcher (the binary, `deno task oci2lxc`, the demo, the
 * bench). A young generation of at most 1 MiB per semi-space keeps peak
 * RSS flat as images grow: without it V8 grows the young generation with
 * the allocation rate of a layer with many entries, and the 4x benchmark
 * image peaks 19 % above the 1x one; with it 6–8 %, at no measurable cost
 * in time (docs/performance.md). It cannot be set from inside the program:
 * `node:v8`'s setFlagsFromString comes after the heap is sized.
 */
export const V8_FLAGS = ["--v8-flags=--max-semi-space-size=1"] as const;

const ROOT = new URL("../", import.meta.url).pathname;

function fail(reason: string, hint: string): never {
  console.error(`error: Cannot compile: ${reason}`);
  console.error(`hint: ${hint}`);
  Deno.exit(1);
}

function denortName(target: string | undefined): string {
  const triple = target ?? `${Deno.build.arch}-unknown-linux-gnu`;
  return `https://dl.deno.land/release/v${Deno.version.deno}/denort-${triple}.zip`;
}

/** The last "N: reason" line of a Rust error chain, or its first error line. */
function rootCause(stderr: string): string {
  // deno-lint-ignore no-control-regex -- ANSI colour codes, in case deno colours despite NO_COLOR
  const plain = stderr.replace(/\x1b\[[0-9;]*m/g, "");
  const causes = [...plain.matchAll(/^\s+\d+: (.+)$/gm)].map((m) => m[1]!.trim()).filter((c) => c !== "<unknown>");
  if (causes.length) return causes.at(-1)!;
  return plain.match(/^error: (.+)$/m)?.[1]?.trim() ?? plain.trim().split("\n").at(-1) ?? "unknown failure";
}

async function main(args: string[]): Promise<void> {
  let output = `${ROOT}dist/oci2lxc`;
  let target: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const value = args[i + 1];
    if ((args[i] === "--output" || args[i] === "--target") && value !== undefined) {
      if (args[i] === "--output") output = value;
      else target = value;
      i++;
    } else {
      fail(`unknown argument "${args[i]}"`, "usage: deno task compile [--output PATH] [--target TRIPLE]");
    }
  }

  const denort = Deno.env.get("DENORT_BIN");
  const hint = `Set DENORT_BIN=/path/to/denort (Deno ${Deno.version.deno}'s denort, unzipped from ${
    denortName(target)
  }, on a machine that can reach it)`;
  if (denort !== undefined) {
    let info: Deno.FileInfo;
    try {
      info = Deno.statSync(denort);
    } catch (err) {
      fail(`DENORT_BIN=${denort}: ${(err as Error).message}`, hint);
    }
    if (!info.isFile) fail(`DENORT_BIN=${denort} is not a file`, hint);
    if (((info.mode ?? 0) & 0o111) === 0) fail(`DENORT_BIN=${denort} is not executable`, `chmod +x ${denort}`);
    console.error(`compile: ${output} with denort ${denort}`);
  } else {
    console.error(`compile: ${output}; DENORT_BIN is not set, so deno fetches denort from dl.deno.land`);
  }

  Deno.mkdirSync(output.replace(/\/[^/]*$/, "") || "/", { recursive: true });
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "compile",
      ...PERMISSIONS,
      ...V8_FLAGS,
      ...(target ? ["--target", target] : []),
      "--output",
      output,
      `${ROOT}main.ts`,
    ],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { RUST_BACKTRACE: "0", NO_COLOR: "1" },
  }).spawn();
  // Stopped (Ctrl-C, a test's timeout): stop deno compile too, or it goes on alone.
  const stop = (signal: "SIGINT" | "SIGTERM") => () => {
    child.kill(signal);
    Deno.exit(signal === "SIGINT" ? 130 : 143);
  };
  Deno.addSignalListener("SIGINT", stop("SIGINT"));
  Deno.addSignalListener("SIGTERM", stop("SIGTERM"));
  const result = await child.output();
  const stderr = new TextDecoder().decode(result.stderr);
  if (!result.success) {
    const cause = rootCause(stderr);
    if (denort !== undefined) fail(`deno compile could not use DENORT_BIN=${denort}: ${cause}`, hint);
    if (/dl\.deno\.land|denort|Setting up base binary|error sending request/i.test(stderr)) {
      fail(`denort could not be downloaded from dl.deno.land: ${cause}`, hint);
    }
    // Not about denort (a type error, say): deno's own words say what.
    console.error(stderr.trimEnd());
    fail(`deno compile failed: ${cause}`, "fix what deno compile reports above, then run deno task compile again");
  }
  // A wrong DENORT_BIN (deno itself, any other program) still "compiles": run the result once.
  const native = target === undefined || target.startsWith(`${Deno.build.arch}-`);
  if (native) {
    const check = await new Deno.Command(output, {
      args: ["--version"],
      stdout: "piped",
      stderr: "null",
      env: { RUST_BACKTRACE: "0" },
    }).output().catch((err: Error) => ({ success: false, stdout: new TextEncoder().encode(err.message) }));
    const said = new TextDecoder().decode(check.stdout).trim();
    if (!check.success || !said.startsWith("oci2lxc ")) {
      Deno.removeSync(output);
      fail(
        `the compiled ${output} does not run oci2lxc (its --version said ${
          JSON.stringify(said.split("\n")[0]!.slice(0, 80))
        })`,
        denort !== undefined
          ? `DENORT_BIN=${denort} is not a denort. ${hint}`
          : "Report it: deno compile made a broken binary",
      );
    }
  }
  const size = Deno.statSync(output).size;
  console.error(`compiled ${output} (${(size / 1e6).toFixed(1)} MB) with ${PERMISSIONS.join(" ")}`);
}

if (import.meta.main) await main(Deno.args);
