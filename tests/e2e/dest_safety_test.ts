/**
 * What `convert` may do to DEST and beside it, through the real CLI (issue
 * 11, data safety): --force replaces only containers, never crosses a mount,
 * one conversion per DEST at a time, leftovers of killed runs are cleaned, a
 * full disk or a missing TMPDIR says where and what, and a failed run leaves
 * no directory it created.
 */
import assert from "node:assert/strict";
import { acquireDestLock } from "../../core/rootfs/dest_lock.ts";
import { ownerTag } from "../../core/rootfs/owner_tag.ts";
import { FIXTURES, withTempDir } from "../_helpers/oci_builder.ts";
import { PROJECT_ROOT } from "./_cli.ts";
import { forceStop, sh as lxc } from "./_lxc.ts";
import { waitFor } from "../_helpers/wait_for.ts";

const IMAGE = `${FIXTURES}busybox.oci.tar`;
const GZIPPED = `${FIXTURES}busybox.docker.tar.gz`;

/** Run main.ts with `args` in `cwd` (relative DESTs are the point of some tests). */
async function convertIn(
  cwd: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stderr: string }> {
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", `${PROJECT_ROOT}main.ts`, "convert", ...args],
    cwd,
    stdout: "null",
    stderr: "piped",
    env: { NO_COLOR: "1", ...env },
  }).output();
  return { code: r.code, stderr: new TextDecoder().decode(r.stderr) };
}

/** Unmount everything mounted at or below `dir`, deepest first: also mounts a broken build moved elsewhere. */
async function unmountUnder(dir: string): Promise<void> {
  const points = Deno.readTextFileSync("/proc/self/mountinfo").split("\n").map((l) => l.split(" ")[4] ?? "")
    .filter((p) => p === dir || p.startsWith(`${dir}/`)).sort((a, b) => b.length - a.length);
  for (const p of points) await sh(`umount '${p}'`);
}

function ls(dir: string): string[] {
  return [...Deno.readDirSync(dir)].map((e) => e.name).sort();
}

async function sh(script: string): Promise<void> {
  const r = await new Deno.Command("sh", { args: ["-c", script], stderr: "piped" }).output();
  if (!r.success) throw new Error(`${script}: ${new TextDecoder().decode(r.stderr)}`);
}

Deno.test("--force refuses an empty DEST, '.', '..', a system directory and a directory that is no container", async () => {
  await withTempDir(async (dir) => {
    const work = `${dir}/home/work`;
    Deno.mkdirSync(work, { recursive: true });
    Deno.writeTextFileSync(`${work}/notes.txt`, "mine");
    Deno.mkdirSync(`${dir}/data`);
    Deno.writeTextFileSync(`${dir}/data/db`, "precious");
    // Everything a broken check could replace is inside the test's directory; / and /etc only with --dry-run,
    // which never replaces anything, so a regression fails this test without harming the host.
    const cases: [string[], RegExp][] = [
      [[""], /^error: Cannot use an empty DEST: it names no directory$/m],
      [["."], /^error: Cannot replace \S+\/home\/work: it is the working directory$/m],
      [[".."], /^error: Cannot replace \S+\/home: it is the working directory or holds it/m],
      [[`${dir}/data`], /^error: Cannot replace \S+\/data: it does not look like a container \(no config or rootfs/m],
      [["/etc", "--dry-run"], /^error: Cannot replace \/etc: it is a system directory$/m],
      [["/", "--dry-run"], /^error: Cannot replace \/: it is a system directory$/m],
      [["/etc", "--dry-run", "--replace-any"], /^error: Cannot replace \/etc: it is a system directory$/m],
    ];
    for (const [dest, wanted] of cases) {
      const r = await convertIn(work, [IMAGE, ...dest, "--force", "--quiet"]);
      assert(r.code !== 0 && wanted.test(r.stderr), `${JSON.stringify(dest)}: exit ${r.code}\n${r.stderr}`);
    }
    assert.deepEqual(Deno.readTextFileSync(`${work}/notes.txt`), "mine");
    assert.deepEqual(Deno.readTextFileSync(`${dir}/data/db`), "precious");
    assert.deepEqual(ls(dir), ["data", "home"], "no staging directory, lock or unpacked file left");
    // Said explicitly, the other directory is replaced.
    const any = await convertIn(work, [IMAGE, `${dir}/data`, "--force", "--replace-any", "--quiet"]);
    assert.deepEqual(any.code, 0, any.stderr);
    assert(ls(`${dir}/data`).includes("rootfs") && !ls(`${dir}/data`).includes("db"));
    assert.deepEqual(ls(dir), ["data", "home"]);
  });
});

Deno.test("--force refuses /etc reached through a bind mount of / (dry run, in a private mount namespace)", async () => {
  await withTempDir(async (dir) => {
    Deno.mkdirSync(`${dir}/root`);
    // The bind mount lives and dies with unshare's namespace: the host never sees it, the temp dir's removal neither.
    // A dry run replaces nothing, so a regression fails this test without touching /etc.
    const r = await new Deno.Command("unshare", {
      args: [
        "-m",
        "--propagation",
        "private",
        "sh",
        "-c",
        'mount --bind / "$1" && shift && exec "$@"',
        "sh",
        `${dir}/root`,
        Deno.execPath(),
        "run",
        "-A",
        "--quiet",
        `${PROJECT_ROOT}main.ts`,
        "convert",
        IMAGE,
        `${dir}/root/etc`,
        "--force",
        "--replace-any",
        "--dry-run",
        "--quiet",
      ],
      stdout: "null",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).output();
    const stderr = new TextDecoder().decode(r.stderr);
    assert.deepEqual(r.code, 9, stderr);
    assert(
      stderr.includes(`error: Cannot replace ${dir}/root/etc: it is the system directory /etc (by another path)`),
      stderr,
    );
    assert.deepEqual(ls(`${dir}/root`), []);
  });
});

Deno.test("a working directory whose path is not UTF-8: an absolute DEST converts, a relative one is refused by name", async () => {
  await withTempDir(async (dir) => {
    // Deno.cwd() throws for such a path; it used to fail every conversion with "Cannot finish" and a bug-report hint.
    const work = `${dir}/work-\\377`; // octal: dash's printf knows no \\x escapes
    await sh(`mkdir "$(printf '${work}')"`);
    const inWork = (args: string[]) =>
      new Deno.Command("sh", {
        args: [
          "-c",
          `cd "$(printf '${work}')" && exec "$@"`,
          "sh",
          Deno.execPath(),
          "run",
          "-A",
          "--quiet",
          `${PROJECT_ROOT}main.ts`,
          "convert",
          IMAGE,
          ...args,
          "--quiet",
        ],
        stdout: "null",
        stderr: "piped",
        env: { NO_COLOR: "1" },
      }).output().then((r) => ({ code: r.code, stderr: new TextDecoder().decode(r.stderr) }));
    const absolute = await inWork([`${dir}/ct`]);
    assert.deepEqual(absolute.code, 0, absolute.stderr);
    assert(ls(`${dir}/ct`).includes("rootfs"));
    const relative = await inWork(["ct"]);
    assert.deepEqual(relative.code, 9, relative.stderr);
    assert(
      relative.stderr.startsWith("error: Cannot resolve DEST ct: the working directory cannot be named\n"),
      relative.stderr,
    );
    const parent = await inWork([dir, "--force", "--replace-any"]);
    assert.deepEqual(parent.code, 9, parent.stderr);
    assert(
      parent.stderr.startsWith(`error: Cannot replace ${dir}: it is the working directory or holds it\n`),
      parent.stderr,
    );
    assert.deepEqual(ls(dir).length, 2, "ct and the working directory, nothing else");
  });
});

Deno.test("--force never crosses a mount: a DEST with a bind mount in it is refused and the mounted files stay", async () => {
  await withTempDir(async (dir) => {
    const made = await convertIn(dir, [IMAGE, `${dir}/ct`, "--quiet"]);
    assert.deepEqual(made.code, 0, made.stderr);
    Deno.mkdirSync(`${dir}/host`);
    Deno.writeTextFileSync(`${dir}/host/data`, "host data");
    Deno.mkdirSync(`${dir}/ct/rootfs/mnt/host`, { recursive: true });
    await sh(`mount --bind '${dir}/host' '${dir}/ct/rootfs/mnt/host'`);
    try {
      const r = await convertIn(dir, [IMAGE, `${dir}/ct`, "--force", "--quiet"]);
      assert.deepEqual(r.code, 9, r.stderr);
      assert(
        /^error: Cannot replace \S+\/ct: \S+\/ct\/rootfs\/mnt\/host is mounted in it$/m.test(r.stderr),
        r.stderr,
      );
      assert.deepEqual(Deno.readTextFileSync(`${dir}/host/data`), "host data");
      assert.deepEqual(ls(dir), ["ct", "host"]);
    } finally {
      await unmountUnder(dir);
    }
    assert.deepEqual(Deno.readTextFileSync(`${dir}/host/data`), "host data");
  });
});

Deno.test("a second conversion into a DEST being converted fails at once naming the holder's PID", async () => {
  await withTempDir(async (dir) => {
    const lock = await acquireDestLock(dir, "ct");
    try {
      const r = await convertIn(dir, [IMAGE, `${dir}/ct`, "--quiet"]);
      assert.deepEqual(r.code, 9, r.stderr);
      assert(
        new RegExp(
          `^error: Cannot convert into \\S+/ct: another oci2lxc \\(PID ${Deno.pid}\\) is converting into it$`,
          "m",
        )
          .test(r.stderr),
        r.stderr,
      );
      assert(/^hint: .*--wait/m.test(r.stderr), r.stderr);
      assert.deepEqual(ls(dir), [".ct.oci2lxc-lock"], "nothing unpacked or staged, the holder's lock kept");
    } finally {
      lock.release();
    }
    assert.deepEqual(ls(dir), [], "the lock file goes with its holder");
    // With --wait the second one waits for the first, then converts.
    const held = await acquireDestLock(dir, "ct");
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--quiet", `${PROJECT_ROOT}main.ts`, "convert", IMAGE, `${dir}/ct`, "--wait"],
      cwd: dir,
      stdout: "null",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).spawn();
    let stderr = "";
    const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
    // Read until it says it waits (or ends); each read returns when the child writes or exits.
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
      stderr += chunk.value;
      if (stderr.includes("waiting for another oci2lxc")) break;
    }
    assert(new RegExp(`waiting for another oci2lxc \\(PID ${Deno.pid}\\)`).test(stderr), stderr);
    assert.deepEqual(ls(dir), [".ct.oci2lxc-lock"], "it waits and does nothing meanwhile");
    held.release();
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) stderr += chunk.value;
    const status = await child.status;
    assert.deepEqual(status.code, 0, stderr);
    assert.deepEqual(ls(dir), ["ct"]);
  });
});

Deno.test("--wait checks DEST again once it holds the lock: the first run made it, so without --force it stops at once", async () => {
  await withTempDir(async (dir) => {
    const held = await acquireDestLock(dir, "ct");
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--quiet", `${PROJECT_ROOT}main.ts`, "convert", GZIPPED, `${dir}/ct`, "--wait"],
      cwd: dir,
      stdout: "null",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).spawn();
    let stderr = "";
    const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
      stderr += chunk.value;
      if (stderr.includes("waiting for another oci2lxc")) break;
    }
    // The holder ends having made DEST (as a finished conversion would).
    Deno.mkdirSync(`${dir}/ct/rootfs`, { recursive: true });
    Deno.writeTextFileSync(`${dir}/ct/config`, "lxc.uts.name = ct\n");
    held.release();
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) stderr += chunk.value;
    assert.deepEqual((await child.status).code, 9, stderr);
    assert(/^error: Cannot write \S+\/ct: it already exists$/m.test(stderr), stderr);
    // It used to unpack the image, assemble and plan, and fail only at the commit.
    assert(!stderr.includes("decompressed"), stderr);
    assert.deepEqual(ls(dir), ["ct"]);
    assert.deepEqual(ls(`${dir}/ct`), ["config", "rootfs"]);
  });
});

Deno.test("a run removes what killed runs for the same DEST left beside it, says so, and keeps a live run's", async () => {
  await withTempDir(async (dir) => {
    // A PID that ran and is gone: a child that has exited.
    const gone = new Deno.Command("true").spawn();
    await gone.status;
    const dead = `${gone.pid}-1`;
    Deno.mkdirSync(`${dir}/.ct.oci2lxc-staging-${dead}-0a0b0c0d/rootfs/etc`, { recursive: true });
    Deno.writeTextFileSync(`${dir}/.ct.oci2lxc-staging-${dead}-0a0b0c0d/rootfs/etc/x`, "x");
    Deno.writeTextFileSync(`${dir}/.ct.oci2lxc-unpack-${dead}-01020304.tar`, "partial");
    const live = `.ct.oci2lxc-staging-${ownerTag()}-0e0f1011`; // ours: a live run's
    Deno.mkdirSync(`${dir}/${live}`);
    const other = `.web.oci2lxc-staging-${dead}-12131415`; // another DEST's
    Deno.mkdirSync(`${dir}/${other}`);
    const r = await convertIn(dir, [IMAGE, `${dir}/ct`]);
    assert.deepEqual(r.code, 0, r.stderr);
    assert(
      new RegExp(
        `warning: removed \\S+/\\.ct\\.oci2lxc-staging-${dead}-0a0b0c0d, a staging directory left by an earlier run \\(PID ${gone.pid}\\)`,
      )
        .test(r.stderr),
      r.stderr,
    );
    assert(/warning: removed \S+\/\.ct\.oci2lxc-unpack-\S+\.tar, an unpacked archive left/.test(r.stderr), r.stderr);
    assert.deepEqual(ls(dir), [live, other, "ct"].sort());
  });
});

Deno.test("a failed conversion into /a/b/c/ct removes a, b and c it created, and keeps a parent that was there", async () => {
  await withTempDir(async (dir) => {
    Deno.mkdirSync(`${dir}/a`);
    // Compressed, so it is unpacked beside DEST (in c) before it turns out to be no image.
    await sh(`echo 'not an archive' | gzip > '${dir}/bad.tar.gz'`);
    const r = await convertIn(dir, [`${dir}/bad.tar.gz`, `${dir}/a/b/c/ct`, "--quiet"]);
    assert.deepEqual(r.code, 3, r.stderr);
    assert.deepEqual(ls(dir), ["a", "bad.tar.gz"]);
    assert.deepEqual(ls(`${dir}/a`), []);
    const r2 = await convertIn(dir, [`${dir}/bad.tar.gz`, `${dir}/x/y/ct`, "--quiet"]);
    assert.deepEqual(r2.code, 3, r2.stderr);
    assert.deepEqual(ls(dir), ["a", "bad.tar.gz"]);
  });
});

Deno.test("a dry run and inspect --plan name a missing or non-UTF-8 TMPDIR and leave nothing in it", async () => {
  await withTempDir(async (dir) => {
    // Their temporary directory, not an unpacked archive (the image is not compressed): Deno's makeTempDir said
    // "Cannot finish: … os error 2: tmpdir" with the bug-report hint, and for a TMPDIR that is not UTF-8 it made the
    // directory, then failed on its name and left it.
    await sh(`mkdir "$(printf '${dir}/t-\\377')"`); // octal: dash's printf knows no \\x escapes
    const runs: [string[], RegExp, RegExp][] = [
      [
        ["convert", IMAGE, `${dir}/ct`, "--dry-run", "--quiet"],
        /^error: Cannot make a temporary directory in \$TMPDIR \(\S+\/nonexistent\/x\): No such file/m,
        /^hint: Set TMPDIR to a directory that exists/m,
      ],
      [
        ["inspect", "--plan", IMAGE],
        /^error: Cannot make a temporary directory in \$TMPDIR \(\S+\/nonexistent\/x\): No such file/m,
        /^hint: Set TMPDIR to a directory that exists/m,
      ],
    ];
    for (const [args, error, hint] of runs) {
      const r = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "--quiet", `${PROJECT_ROOT}main.ts`, ...args],
        stdout: "null",
        stderr: "piped",
        env: { NO_COLOR: "1", TMPDIR: `${dir}/nonexistent/x` },
      }).output();
      const stderr = new TextDecoder().decode(r.stderr);
      assert.deepEqual(r.code, 9, stderr);
      assert(error.test(stderr) && hint.test(stderr), stderr);
      // The same with TMPDIR's bytes not UTF-8 (set through sh: Deno's env takes only strings).
      const raw = await new Deno.Command("sh", {
        args: [
          "-c",
          `TMPDIR="$(printf '${dir}/t-\\377')" exec "$@"`,
          "sh",
          Deno.execPath(),
          "run",
          "-A",
          "--quiet",
          `${PROJECT_ROOT}main.ts`,
          ...args,
        ],
        stdout: "null",
        stderr: "piped",
        env: { NO_COLOR: "1" },
      }).output();
      const rawErr = new TextDecoder().decode(raw.stderr);
      assert.deepEqual(raw.code, 9, rawErr);
      assert(
        /^error: Cannot use \$TMPDIR: /m.test(rawErr) &&
          /^hint: Set TMPDIR to a directory whose path is UTF-8/m.test(rawErr),
        rawErr,
      );
    }
    // Deno cannot open a name that is not UTF-8: find lists what is there.
    const left = await new Deno.Command("find", { args: [dir, "-mindepth", "1"], stdout: "piped" }).output();
    assert.deepEqual(
      new TextDecoder().decode(left.stdout).split("\n").filter((l) => l !== "").length,
      1,
      "only TMPDIR",
    );
  });
});

Deno.test("a missing TMPDIR is named and not created; a full disk names the file and where room is needed", async () => {
  await withTempDir(async (dir) => {
    const r = await convertIn(dir, [GZIPPED, `${dir}/ct`, "--dry-run", "--quiet"], { TMPDIR: `${dir}/nonexistent/x` });
    assert.deepEqual(r.code, 9, r.stderr);
    assert(
      /^error: Cannot unpack \S+busybox\.docker\.tar\.gz to \S+\/nonexistent\/x\/\.oci2lxc-\S+\.tar in \$TMPDIR \(\S+\/nonexistent\/x\): No such file or directory$/m
        .test(r.stderr),
      r.stderr,
    );
    assert(/^hint: Set TMPDIR to a directory that exists/m.test(r.stderr), r.stderr);
    assert.deepEqual(ls(dir), [], "TMPDIR was not created");

    // 1 MiB of room for an archive that unpacks to 2 MiB.
    Deno.mkdirSync(`${dir}/small`);
    await sh(`mount -t tmpfs -o size=1m oci2lxc-test '${dir}/small'`);
    try {
      const full = await convertIn(dir, [GZIPPED, `${dir}/small/lxc/ct`, "--quiet"]);
      assert.deepEqual(full.code, 9, full.stderr);
      assert(
        /^error: Cannot unpack \S+busybox\.docker\.tar\.gz to \S+\/small\/lxc\/\.ct\.oci2lxc-unpack-\S+\.tar in \S+\/small\/lxc, beside DEST: No space left on device$/m
          .test(full.stderr),
        full.stderr,
      );
      assert(/^hint: Free space in \S+\/small\/lxc/m.test(full.stderr), full.stderr);
      assert(!full.stderr.includes("report it"), full.stderr);
      assert.deepEqual(ls(`${dir}/small`), [], "no unpacked file, lock or created directory left");
      // A read-only TMPDIR for a dry run.
      await sh(`mount -o remount,ro '${dir}/small'`);
      const ro = await convertIn(dir, [GZIPPED, `${dir}/ct`, "--dry-run", "--quiet"], { TMPDIR: `${dir}/small` });
      assert.deepEqual(ro.code, 9, ro.stderr);
      assert(
        /^error: Cannot unpack \S+ to \S+\/small\/\.oci2lxc-\S+\.tar in \$TMPDIR \(\S+\): Read-only file system$/m.test(
          ro.stderr,
        ),
        ro.stderr,
      );
      assert(/^hint: Check that \$TMPDIR \(\S+\/small\) is writable, or set TMPDIR/m.test(ro.stderr), ro.stderr);
    } finally {
      await unmountUnder(dir);
    }
  });
});

Deno.test("--force refuses a DEST that LXC runs as a container (lxcpath DEST's parent, name its base name)", async () => {
  await withTempDir(async (dir) => {
    const name = `o2l-safety-${crypto.randomUUID().slice(0, 6)}`;
    const dest = `${dir}/${name}`;
    const made = await convertIn(dir, [IMAGE, dest, "--quiet", "--entrypoint", '["/bin/sleep","600"]']);
    assert.deepEqual(made.code, 0, made.stderr);
    try {
      const started = await lxc(["lxc-start", "-n", name, "-P", dir, "-d"]);
      assert.deepEqual(started.code, 0, started.out);
      await waitFor("RUNNING", 15_000, async () => {
        const s = await lxc(["lxc-info", "-n", name, "-P", dir, "-s", "-H"]);
        return s.out.trim() === "RUNNING" ? true : undefined;
      });
      const r = await convertIn(dir, [IMAGE, dest, "--force", "--quiet"]);
      assert.deepEqual(r.code, 9, r.stderr);
      assert(
        new RegExp(`^error: Cannot replace \\S+/${name}: LXC reports the container running$`, "m").test(r.stderr),
        r.stderr,
      );
      assert(new RegExp(`^hint: Stop it first: lxc-stop -P \\S+ -n ${name}$`, "m").test(r.stderr), r.stderr);
      assert.deepEqual(ls(dir).filter((n) => n.startsWith(".")), [], "no staging directory, lock or unpacked file");
    } finally {
      await forceStop(name, dir);
    }
  });
});

Deno.test("--force refuses a running container started through another LXC path (a symlink to DEST's parent)", async () => {
  await withTempDir(async (dir) => {
    // /var/lib/lxc as a symlink to other storage is common: lxc-start uses the link's path, and lxc-info asked with
    // the real path (what the guard resolves DEST's parent to) says STOPPED.
    Deno.mkdirSync(`${dir}/real`);
    Deno.symlinkSync(`${dir}/real`, `${dir}/link`);
    const name = `o2l-safety-${crypto.randomUUID().slice(0, 6)}`;
    const made = await convertIn(dir, [
      IMAGE,
      `${dir}/real/${name}`,
      "--quiet",
      "--entrypoint",
      '["/bin/sleep","600"]',
    ]);
    assert.deepEqual(made.code, 0, made.stderr);
    try {
      const started = await lxc(["lxc-start", "-n", name, "-P", `${dir}/link`, "-d"]);
      assert.deepEqual(started.code, 0, started.out);
      await waitFor("RUNNING", 15_000, async () => {
        const s = await lxc(["lxc-info", "-n", name, "-P", `${dir}/link`, "-s", "-H"]);
        return s.out.trim() === "RUNNING" ? true : undefined;
      });
      for (const dest of [`${dir}/real/${name}`, `${dir}/link/${name}`]) {
        const r = await convertIn(dir, [IMAGE, dest, "--force", "--dry-run", "--quiet"]);
        assert.deepEqual(r.code, 9, r.stderr);
        assert(
          new RegExp(
            `^error: Cannot replace \\S+/real/${name}: process \\d+ \\(\\S+\\) has its root in \\S+/rootfs`,
            "m",
          )
            .test(r.stderr),
          r.stderr,
        );
      }
    } finally {
      await forceStop(name, `${dir}/link`);
    }
  });
});
