/**
 * What the command line refuses before any work, and how it echoes what it
 * was given: arguments that are not UTF-8, values that would split the
 * `error:` line or fill the terminal, options given twice, numbers `Number()`
 * would bend, and the checks a real run makes at its end, made up front for
 * `--dry-run` too. Each case runs the real CLI, from main.ts and the bundle.
 */
import assert from "node:assert/strict";
import { withTempDir } from "../_helpers/oci_builder.ts";
import { file } from "../rootfs/_layers.ts";
import { writeOciLayout } from "../rootfs/_oci_image.ts";
import { bundle, cli, type CliResult, ENTRIES, type Entry, PROJECT_ROOT } from "./_cli.ts";

const BUSYBOX = "fixtures/images/busybox.oci.tar";

/** The `error:` line and whether it is the only one before the usage lines. */
function errorLine(r: CliResult): string {
  const lines = r.stderr.trimEnd().split("\n").filter((l) => !l.startsWith("usage: ") && !l.startsWith("Run '"));
  assert(lines[0]?.startsWith("error: "), r.stderr);
  assert(lines.length <= 2 && (lines.length === 1 || lines[1]!.startsWith("hint: ")), r.stderr);
  return lines[0]!;
}

/**
 * Run the CLI with arguments given as shell `printf` formats, so that bytes that are not UTF-8 reach its argv
 * (Deno.Command takes strings, which would be encoded as UTF-8).
 */
async function cliWithBytes(entry: Entry, formats: string[]): Promise<CliResult> {
  const script = entry === "bundle" ? await bundle() : `${PROJECT_ROOT}main.ts`;
  const words = formats.map((f) => `"$(printf -- '${f}')"`).join(" ");
  const result = await new Deno.Command("bash", {
    args: ["-c", `exec "$0" run -A --quiet "$1" ${words}`, Deno.execPath(), script],
    cwd: PROJECT_ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const decoder = new TextDecoder();
  return { code: result.code, stdout: decoder.decode(result.stdout), stderr: decoder.decode(result.stderr) };
}

for (const entry of ENTRIES) {
  Deno.test(`[${entry}] an argument that is not UTF-8 is refused by its name, not turned into U+FFFD`, async () => {
    await withTempDir(async (dir) => {
      const dest = await cliWithBytes(entry, ["convert", BUSYBOX, `${dir}/ct\\377`, "-q"]);
      assert.deepEqual(dest.code, 2, dest.stderr);
      assert.deepEqual(errorLine(dest), "error: Cannot use DEST: it is not valid UTF-8");
      assert.deepEqual([...Deno.readDirSync(dir)].length, 0, "nothing was written");

      for (const form of [["--env", "A=\\376"], ["--env=A=\\376"]]) {
        const env = await cliWithBytes(entry, ["convert", BUSYBOX, `${dir}/ct`, "--dry-run", "-q", ...form]);
        assert.deepEqual(env.code, 2, env.stderr);
        assert.deepEqual(errorLine(env), "error: Cannot use --env: it is not valid UTF-8");
      }
      const image = await cliWithBytes(entry, ["inspect", "\\377.tar"]);
      assert.deepEqual(errorLine(image), "error: Cannot use IMAGE: it is not valid UTF-8");

      // A real U+FFFD (valid UTF-8: EF BF BD) is a name like any other.
      const real = await cliWithBytes(entry, ["inspect", "\\357\\277\\275.tar"]);
      assert.deepEqual(real.code, 3, real.stderr);
      assert(errorLine(real).startsWith("error: Cannot open image \uFFFD.tar: "), real.stderr);
    });
  });

  Deno.test(`[${entry}] values echoed in errors are escaped and cut: the error stays one line`, async () => {
    const dest = "/tmp/oci2lxc-never-written/ct";
    const cases: [string[], string][] = [
      [["--net", "a\nb"], 'error: Cannot parse --net "a\\nb": "a\\nb" is not KEY=VALUE'],
      [
        ["--idmap", "u:0:1:1\nx"],
        'error: Cannot parse --idmap "u:0:1:1\\nx": "u:0:1:1\\nx" is not TYPE:CONTAINER:HOST:COUNT',
      ],
      [
        ["--platform", "linux/a\nmd64"],
        'error: Cannot parse platform "linux/a\\nmd64": expected os/arch[/variant], e.g. linux/arm64',
      ],
      [["--name", "a\nb"], 'error: Cannot use container name "a\\nb": use letters, digits, "_", "." and "-", up to 64'],
    ];
    for (const [extra, expected] of cases) {
      const r = await cli(entry, ["convert", BUSYBOX, dest, "--dry-run", "-q", ...extra]);
      assert.deepEqual(r.code, 2, r.stderr);
      assert.deepEqual(errorLine(r), expected);
    }
    // A 100 KB ref name (argv takes at most 128 KiB per argument) is shown by its start and end.
    const long = `r${"e".repeat(100_000)}f`;
    const r = await cli(entry, ["inspect", `oci-archive:${BUSYBOX}:${long}`]);
    assert.deepEqual(r.code, 3, r.stderr.slice(0, 500));
    const line = errorLine(r);
    assert(line.length < 1000, `${line.length} characters`);
    assert(/…\[\d+ characters cut\]…e*f/.test(line), line);
  });

  Deno.test(`[${entry}] a 900 KB member name with a line feed is echoed as one short line`, async () => {
    await withTempDir(async (dir) => {
      writeOciLayout(`${dir}/img`, [[file(`d/${"n".repeat(900_000)}\nx`, "hi")]]);
      const r = await cli(entry, ["convert", `oci:${dir}/img`, `${dir}/ct`, "-q"]);
      assert.deepEqual(r.code, 6, r.stderr.slice(0, 500));
      const lines = r.stderr.trimEnd().split("\n");
      assert(lines.length <= 2 && r.stderr.length < 2000, `${lines.length} lines, ${r.stderr.length} characters`);
      // Either the formatter cuts the middle and the line feed shows escaped (\n, or \x0a as the rootfs writer names
      // entries), or the PATH_MAX check names the entry by its first characters and its length in bytes.
      assert(
        /^error: Cannot apply d\/n+(…\[\d+ characters cut\]…n+\\(n|x0a)x |… \(900004 bytes\) )/.test(lines[0]!),
        lines[0],
      );
    });
  });

  Deno.test(`[${entry}] --plugin with a file that is not a module is one error line, no code frame`, async () => {
    const r = await cli(entry, ["convert", BUSYBOX, "/tmp/oci2lxc-never-written/ct", "--plugin", "/etc/passwd"]);
    assert.deepEqual(r.code, 8, r.stderr);
    const lines = r.stderr.trimEnd().split("\n");
    assert.deepEqual(lines.length, 2, r.stderr);
    assert(lines[0]!.startsWith("error: Cannot load plugin /etc/passwd: SyntaxError: "), r.stderr);
    assert(lines[0]!.endsWith(" at line 1, column 9 (not a JavaScript or TypeScript module?)"), r.stderr);
    assert(!r.stderr.includes("root:x:0:0"), "no copy of the file's text");
    assert(lines[1]!.startsWith("hint: Give --plugin a .ts or .js module"), r.stderr);
  });

  Deno.test(`[${entry}] --plugin whose default export is no plugin names the file`, async () => {
    await withTempDir(async (dir) => {
      // With several --plugin, "Cannot use plugin: it is not an object" did not say which one.
      Deno.writeTextFileSync(`${dir}/good.ts`, 'export default { name: "good" };\n');
      Deno.writeTextFileSync(`${dir}/num.ts`, "export default 42;\n");
      const r = await cli(entry, [
        ...["convert", BUSYBOX, `${dir}/ct`, "--dry-run", "--plugin", `${dir}/good.ts`, "--plugin", `${dir}/num.ts`],
      ]);
      assert.deepEqual(r.code, 8, r.stderr);
      assert(r.stderr.startsWith(`error: Cannot load plugin ${dir}/num.ts: it is not an object\n`), r.stderr);
      assert(/^hint: --plugin takes a \.ts or \.js module/m.test(r.stderr), r.stderr);
    });
  });

  Deno.test(`[${entry}] convert refuses option values up front, the same for --dry-run and a real run`, async () => {
    await withTempDir(async (dir) => {
      const cases: [string[], string][] = [
        [["--lxc-version", "abc"], 'error: Cannot use --lxc-version "abc": give a version like 5.0.2'],
        [["--idmap", ""], 'error: Cannot parse --idmap "": "" is not TYPE:CONTAINER:HOST:COUNT'],
        [
          ["--format", "pve", "--vmid", "99999999999999999999"],
          'error: Cannot use --vmid "99999999999999999999": give the container id in digits, from 100 to 999999999',
        ],
        [
          ["--format", "pve", "--vmid", "1e3"],
          'error: Cannot use --vmid "1e3": give the container id in digits, from 100 to 999999999',
        ],
        [
          ["--format", "pve", "--vmid", "120", "--pve-version", "6"],
          'error: Cannot use Proxmox VE version "6": give 7, 8, 9.0, 9.1 (or 9.1.N), or pve-container/X.Y.Z',
        ],
        [["--env", "=x"], 'error: Cannot use --env[0] "=x": the variable name is empty'],
        [["--env", "A=1", "--env", ""], 'error: Cannot use --env[1] "": the variable name is empty'],
        [["--name", "a", "--name", "b"], "error: Cannot use --name more than once: it takes one value"],
        [
          ["--vmid=120", "--vmid", "121", "--format", "pve"],
          "error: Cannot use --vmid more than once: it takes one value",
        ],
      ];
      for (const [extra, expected] of cases) {
        for (const mode of [["--dry-run"], []]) {
          const r = await cli(entry, ["convert", BUSYBOX, `${dir}/ct`, "-q", ...mode, ...extra]);
          assert.deepEqual(r.code, 2, `${extra.join(" ")} ${mode.join(" ")}: ${r.stderr}`);
          assert.deepEqual(errorLine(r), expected);
        }
      }
      assert.deepEqual([...Deno.readDirSync(dir)].length, 0, "nothing was written");
      // Repeatable options stay repeatable.
      const ok = await cli(entry, [
        "convert",
        BUSYBOX,
        `${dir}/ct`,
        "--dry-run",
        "--json",
        "--env",
        "A=1",
        "--env",
        "B=2",
        "--volume",
        "/srv:/a",
        "--volume",
        "/opt:/b",
      ]);
      assert.deepEqual(ok.code, 0, ok.stderr);
      const container = JSON.parse(ok.stdout).container;
      const env = JSON.stringify(container.env);
      assert(env.includes('["A","1"]') && env.includes('["B","2"]'), env);
      const mounts = JSON.stringify(container.mounts);
      assert(mounts.includes("/srv") && mounts.includes("/opt"), mounts);
    });
  });

  Deno.test(`[${entry}] a line feed in DEST's parent names DEST and the config, not the image`, async () => {
    const r = await cli(entry, ["convert", BUSYBOX, "/tmp/oci2lxc-a\nb/ct", "--dry-run", "-q"]);
    assert.deepEqual(r.code, 2, r.stderr);
    assert.deepEqual(errorLine(r), 'error: Cannot use DEST "/tmp/oci2lxc-a\\nb/ct": it contains a line feed');
    assert(r.stderr.includes("hint: DEST's path is written into DEST/config"), r.stderr);
    assert(!r.stderr.includes("image config"), r.stderr);
  });

  Deno.test(`[${entry}] --version with an argument is a usage error`, async () => {
    for (const flag of ["--version", "-V"]) {
      const r = await cli(entry, [flag, "extra"]);
      assert.deepEqual(r.code, 2, r.stderr);
      assert.deepEqual(r.stdout, "");
      assert.deepEqual(r.stderr.split("\n")[0], `error: Cannot use ${flag}: unexpected argument "extra"`);
    }
    assert.deepEqual((await cli(entry, ["--version"])).code, 0);
  });

  Deno.test(`[${entry}] a transport the archive's content contradicts says what it is and which to use`, async () => {
    const oci = await cli(entry, ["inspect", `docker-archive:${BUSYBOX}`]);
    assert.deepEqual(oci.code, 2, oci.stderr);
    assert.deepEqual(
      errorLine(oci),
      `error: Cannot read ${BUSYBOX} as docker-archive: it is an OCI archive (index.json, no manifest.json)`,
    );
    assert(oci.stderr.includes(`hint: Use oci-archive:${BUSYBOX}, or the bare path`), oci.stderr);
    const docker = await cli(entry, ["inspect", "oci-archive:fixtures/images/busybox.docker.tar"]);
    assert.deepEqual(docker.code, 2, docker.stderr);
    assert.deepEqual(
      errorLine(docker),
      "error: Cannot read fixtures/images/busybox.docker.tar as oci-archive: it is a docker-archive " +
        "(manifest.json, no index.json)",
    );
    assert(docker.stderr.includes("hint: Use docker-archive:fixtures/images/busybox.docker.tar"), docker.stderr);
  });
}
