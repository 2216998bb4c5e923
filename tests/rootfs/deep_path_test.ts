/**
 * Deep paths (issue 11 item 6): a tiny layer with one entry `A/A/…/A/f` used
 * to cost work quadratic in its depth (2.4 M `openat` for 3000 levels), and
 * paths beyond Linux's limits were written. The work is counted in syscalls
 * under `strace`, never timed; the limits are checked by their messages.
 */

import assert from "node:assert/strict";
import { Oci2LxcError } from "../../core/errors.ts";
import { apply, dir, eachResolver, file, hardlink, ls, symlink } from "./_layers.ts";
import { systemTest } from "../_helpers/tier.ts";

/** Deep enough to be quadratic before (~2 M openat or path bytes), shallow enough to fit PATH_MAX. */
const DEPTH = 2000;

interface Work {
  /** openat and openat2 calls. */
  calls: number;
  /** Bytes of the paths they were given: what the kernel walks. */
  pathBytes: number;
}

/** Count openat/openat2 calls and their path bytes between each `begin-X` and `end-X` marker. */
function countWork(trace: string): Map<string, Work> {
  const work = new Map<string, Work>();
  let current: Work | undefined;
  const call = /^\d+\s+(?:openat2?)\([^,]*, "((?:[^"\\]|\\.)*)"/;
  for (const line of trace.split("\n")) {
    const m = call.exec(line);
    if (m === null) continue;
    const path = m[1]!;
    const marker = /^\/nonexistent-oci2lxc-mark\/(begin|end)-(.*)$/.exec(path);
    if (marker !== null) {
      if (marker[1] === "begin") work.set(marker[2]!, current = { calls: 0, pathBytes: 0 });
      else current = undefined;
      continue;
    }
    if (current === undefined) continue;
    current.calls++;
    current.pathBytes += path.replace(/\\(?:x[0-9a-f]{2}|[0-7]{1,3}|.)/g, "_").length;
  }
  return work;
}

systemTest(
  "a deep path costs syscalls linear in its depth, one entry or one entry per level, with openat2 and the walk",
  () => {
    const base = Deno.makeTempDirSync({ prefix: "oci2lxc-deep-trace-" });
    try {
      const child = new URL("./_deep_path_child.ts", import.meta.url).pathname;
      const out = new Deno.Command("strace", {
        args: [
          "-f",
          "-qq",
          "-e",
          "trace=openat,openat2",
          "-s",
          "8192",
          "-o",
          `${base}/trace`,
          Deno.execPath(),
          "run",
          "-A",
          child,
          String(DEPTH),
        ],
        stdout: "piped",
        stderr: "piped",
      }).outputSync();
      const stdout = new TextDecoder().decode(out.stdout);
      assert(out.success, `child failed: ${new TextDecoder().decode(out.stderr)}`);
      assert.deepEqual(stdout.trim(), "{}", "every case converts");
      const work = countWork(Deno.readTextFileSync(`${base}/trace`));
      assert.deepEqual([...work.keys()].sort(), ["chain-openat2", "chain-userspace", "deep-openat2", "deep-userspace"]);
      for (const [label, w] of work) {
        // Linear: a few opens per level, each of a one-byte name, plus one full path (2 bytes per level).
        // The quadratic code made ~DEPTH²/2 calls (walk) or passed ~DEPTH² path bytes (openat2).
        assert(w.calls <= 5 * DEPTH, `${label}: ${w.calls} openat calls for ${DEPTH} levels`);
        assert(w.pathBytes <= 10 * DEPTH, `${label}: ${w.pathBytes} path bytes for ${DEPTH} levels`);
      }
    } finally {
      Deno.removeSync(base, { recursive: true });
    }
  },
);

/** Run a tool in the root: paths deeper than PATH_MAX beside the temp dir's own name need a relative start. */
function inRoot(root: string, cmd: string, ...args: string[]): string {
  const out = new Deno.Command(cmd, { args, cwd: root, stdout: "piped", stderr: "piped" }).outputSync();
  assert(out.success, `${cmd}: ${new TextDecoder().decode(out.stderr)}`);
  return new TextDecoder().decode(out.stdout).trimEnd();
}

/** The error of applying one layer, which must be a rootfs error naming layer 1. */
function refused(root: string, layer: Parameters<typeof apply>[1][number], options = {}): Oci2LxcError {
  let err: unknown;
  assert.throws(() => apply(root, [layer], options), (thrown) => (err = thrown, true));
  assert(err instanceof Oci2LxcError, `not an Oci2LxcError: ${err}`);
  assert.deepEqual(err.code, "rootfs");
  assert(err.message.includes(" from layer 1: "), err.message);
  assert(err.hint?.includes("shorter paths") === true, `hint: ${err.hint}`);
  return err;
}

systemTest("a path of 4095 bytes (with its leading '/') is written, one byte more is refused naming the entry", () => {
  eachResolver((sb, options) => {
    const longest = `${"A/".repeat(2046)}ff`; // 4094 bytes, "/" + it is 4095
    apply(sb.root, [[file(longest, "x")]], options);
    assert.deepEqual(inRoot(sb.root, "cat", longest), "x");
    const err = refused(sb.root, [file(`${longest}f`, "x")], options);
    assert.deepEqual(
      err.message,
      `Cannot apply ${"A/".repeat(60)}… (4095 bytes) from layer 1: the path is 4096 bytes long as an absolute path; ` +
        "Linux allows at most 4095 (PATH_MAX)",
    );
    sb.assertCanaryIntact();
  });
});

systemTest("entries 3000 and 8000 levels deep are refused before anything is made", () => {
  eachResolver((sb, options) => {
    for (const n of [3000, 8000]) {
      const err = refused(sb.root, [dir("keep"), file(`${"A/".repeat(n)}f`, "x")], options);
      assert(
        err.message.endsWith(
          `(${2 * n + 1} bytes) from layer 1: the path is ${2 * n + 2} bytes long as an absolute path; ` +
            "Linux allows at most 4095 (PATH_MAX)",
        ),
        err.message,
      );
      assert.deepEqual(ls(sb.root), ["keep"]);
    }
  });
});

systemTest("a path component longer than 255 bytes is refused, and a 900 KB name is not echoed whole", () => {
  eachResolver((sb, options) => {
    let err = refused(sb.root, [file(`x/${"C".repeat(256)}/f`, "x")], options);
    assert(
      err.message.endsWith(
        `from layer 1: the path has a component of 256 bytes (${"C".repeat(24)}… (256 bytes)); ` +
          "Linux allows at most 255 (NAME_MAX)",
      ),
      err.message,
    );
    apply(sb.root, [[file(`y/${"C".repeat(255)}`, "x")]], options);
    err = refused(sb.root, [file(`\n${"D".repeat(900_000)}`, "x")], options);
    assert(err.message.length < 400, `message of ${err.message.length} characters`);
    assert(err.message.startsWith(`Cannot apply \\x0a${"D".repeat(116)}… (900001 bytes) from layer 1:`), err.message);
    assert.deepEqual(ls(sb.root), ["y"]);
  });
});

systemTest("link targets beyond the limits are refused", () => {
  eachResolver((sb, options) => {
    let err = refused(sb.root, [symlink("l", "B/".repeat(2048))], options);
    assert(err.message.endsWith("the symlink target is 4096 bytes long; Linux allows at most 4095 (PATH_MAX)"));
    err = refused(sb.root, [file("t", "x"), hardlink("h", `${"B/".repeat(2048)}t`)], options);
    assert(err.message.includes("the hardlink target is 4098 bytes long"), err.message);
    err = refused(sb.root, [file("t", "x"), hardlink("h", `${"E".repeat(256)}/t`)], options);
    assert(err.message.includes("the hardlink target has a component of 256 bytes"), err.message);
  });
});

systemTest(
  "a short path that symlinks make longer than PATH_MAX is refused, and nothing beyond the limit is made",
  () => {
    eachResolver((sb, options) => {
      // s → B/…/B (1500 levels, 2999 bytes); s/C/…/C/f is 2003 bytes but lands 5003 bytes deep.
      const err = refused(sb.root, [symlink("s", "B/".repeat(1500)), file(`s/${"C/".repeat(1000)}f`, "x")], options);
      assert(
        /: the path resolves \(symlinks followed\) to a real path of at least 4096 bytes; Linux allows at most 4095 \(PATH_MAX\)$/
          .test(err.message),
        err.message,
      );
      // "./B/…" is as long as "/B/…" plus one.
      const deepest = Math.max(...inRoot(sb.root, "find", ".", "-type", "d").split("\n").map((p) => p.length - 1));
      assert(deepest > 4000 && deepest <= 4095, `deepest directory made: ${deepest} bytes`);
      sb.assertCanaryIntact();
    });
  },
);
