/**
 * Ctrl-C in the middle of a conversion: exit code 130, one error line, and
 * neither the staging directory nor DEST left behind.
 *
 * Images: one built here, large enough that applying it takes seconds (a
 * gzip layer of 60,000 empty files in 30 directories and two 32 MB files),
 * read on the main thread and by the layer worker; and the largest image
 * the suite has, the Debian system image (debootstrap, cached by the test
 * set-up, see tests/_helpers/debian_rootfs.ts).
 *
 * The moment is made certain, not raced: once the staging rootfs has its
 * first entry, the converter is frozen (SIGSTOP), the test checks that it
 * is still mid-way (staging there, DEST not), sends SIGINT and lets it go
 * on (SIGCONT). However fast the machine, the signal arrives mid-layer.
 *
 * The layer tar is written here (ustar headers, as GNU tar writes them for
 * empty files) rather than by GNU tar from a directory: making 60,000 files
 * on disk first would cost the test as much time as the conversion it
 * interrupts.
 */
import assert from "node:assert/strict";
import { WORKER_MIN_BYTES } from "../../core/assemble.ts";
import { debianSystemImage } from "../_helpers/debian_rootfs.ts";
import { run, withTempDir, writeOciDir } from "../_helpers/oci_builder.ts";
import { ENTRIES, type Entry, spawnCli } from "./_cli.ts";
import { processState } from "./_lxc.ts";
import { waitFor } from "../_helpers/wait_for.ts";

const DIRS = 30;
const FILES_PER_DIR = 2000;
const BIG_FILES = 2;
const BIG_SIZE = 32 << 20;

/** One ustar header block. */
function header(name: string, type: "0" | "5", size: number): Uint8Array {
  const block = new Uint8Array(512);
  const put = (at: number, text: string) => block.set(new TextEncoder().encode(text), at);
  const octal = (at: number, width: number, value: number) => put(at, value.toString(8).padStart(width - 1, "0"));
  put(0, name);
  octal(100, 8, type === "5" ? 0o755 : 0o644);
  octal(108, 8, 0);
  octal(116, 8, 0);
  octal(124, 12, size);
  octal(136, 12, 1_700_000_000);
  put(148, "        ");
  put(156, type);
  put(257, "ustar\x0000");
  const sum = block.reduce((n, b) => n + b, 0);
  put(148, `${sum.toString(8).padStart(6, "0")}\x00 `);
  return block;
}

/**
 * The layer tar: big files first, then the directories of empty files. With
 * `random` bytes, a file of them comes first: incompressible, it takes the
 * layer over WORKER_MIN_BYTES, so the layer worker reads it.
 */
function layerTar(random = new Uint8Array(0)): Uint8Array {
  const entries = DIRS * (FILES_PER_DIR + 1) + BIG_FILES + 1;
  const padded = Math.ceil(random.length / 512) * 512;
  const tar = new Uint8Array(entries * 512 + padded + BIG_FILES * BIG_SIZE + 1024);
  tar.set(header("random", "0", random.length), 0);
  tar.set(random, 512);
  let at = 512 + padded;
  for (let i = 0; i < BIG_FILES; i++) {
    tar.set(header(`big${i}`, "0", BIG_SIZE), at);
    at += 512 + BIG_SIZE; // zeros
  }
  for (let d = 0; d < DIRS; d++) {
    tar.set(header(`d${d}/`, "5", 0), at);
    at += 512;
    for (let f = 0; f < FILES_PER_DIR; f++) {
      tar.set(header(`d${d}/f${f}`, "0", 0), at);
      at += 512;
    }
  }
  return tar;
}

function stagingIn(dir: string): string | undefined {
  return [...Deno.readDirSync(dir)].find((e) => e.name.startsWith(".ct.oci2lxc-staging-"))?.name;
}

function hasEntries(dir: string): boolean {
  try {
    return !Deno.readDirSync(dir)[Symbol.iterator]().next().done;
  } catch {
    return false;
  }
}

/** When to freeze the converter, and what must still hold once it is frozen. */
interface Moment {
  what: string;
  /** The one error line, which says where the work stopped. */
  stoppedAt: RegExp;
  reached(out: string): boolean;
  midway(out: string): boolean;
}

/** The writer has begun: the staging rootfs has its first entry, and DEST is not there yet. */
const WRITING: Moment = {
  what: "a staging rootfs with an entry",
  // "before the plan" would mean the signal was seen only after the last layer.
  stoppedAt: /^error: Cannot finish the conversion: interrupted in layer \d+\/\d+ \(sha256:[0-9a-f]{12}\)$/,
  reached: (out) => {
    const staging = stagingIn(out);
    return staging !== undefined && hasEntries(`${out}/${staging}/rootfs`);
  },
  midway: (out) => stagingIn(out) !== undefined && fileSize(`${out}/ct`) === undefined,
};

/**
 * Convert `image` into `out/ct` through `entry`, interrupt it as the module
 * doc says, and check how it ended.
 */
function interruptConversion(entry: Entry, image: string, out: string, moment = WRITING): Promise<void> {
  return interruptCli(entry, ["convert", image, `${out}/ct`], out, moment);
}

/** Run `oci2lxc ARGS` (whose files go to `out`), interrupt it at `moment`, and check how it ended. */
async function interruptCli(
  entry: Entry,
  args: string[],
  out: string,
  moment: Moment,
  env: Record<string, string> = {},
): Promise<void> {
  await Deno.mkdir(out);
  const child = await spawnCli(entry, args, env);
  const output = child.output();
  // A bound against a hang, not a speed test: on a busy machine whose root
  // file system has no journal, creating and removing 60,000 files can be slow.
  const stop = setTimeout(() => child.kill("SIGKILL"), 180_000);
  try {
    // Polled often: the Debian image leaves a few hundred milliseconds of work on a fast machine.
    // false: the child is killed below before the test fails with its own message.
    const started = await waitFor(moment.what, 30_000, () => moment.reached(out), { everyMs: 2 })
      .then(() => true, () => false);
    if (started) {
      child.kill("SIGSTOP");
      // kill() returns before a process running on the other core has stopped.
      await waitFor("the converter to stop on SIGSTOP", 10_000, () => processState(child.pid) === "T", { everyMs: 1 });
    }
    if (!started || !moment.midway(out)) {
      child.kill("SIGKILL");
      await output;
      throw new Error(started ? `it had gone past ${moment.what} when it was frozen` : `no ${moment.what} within 30 s`);
    }
    child.kill("SIGINT");
    child.kill("SIGCONT");
    const r = await output;
    const stderr = new TextDecoder().decode(r.stderr);
    assert.deepEqual(r.code, 130, `exit ${r.code} ${r.signal ?? ""}:\n${stderr}`);
    const line = /^error: .*$/m.exec(stderr)?.[0];
    assert(line !== undefined && moment.stoppedAt.test(line), `${line}: wanted ${moment.stoppedAt}:\n${stderr}`);
    assert.deepEqual(stderr.match(/^error: /gm)?.length, 1, `one error line:\n${stderr}`);
    assert(!/Stack backtrace|Uncaught/.test(stderr), stderr);
    assert.deepEqual(new TextDecoder().decode(r.stdout), "", "nothing on stdout");
    assert.deepEqual([...Deno.readDirSync(out)].map((e) => e.name), [], "no staging directory, temporary file or DEST");
  } finally {
    clearTimeout(stop);
  }
}

for (const reader of ["thread", "worker"]) {
  Deno.test(`convert stops on SIGINT in the middle of a layer (read on the ${reader}): exit 130, one error line, no staging dir, no DEST`, async (t) => {
    await withTempDir(async (dir) => {
      const random = new Uint8Array(reader === "worker" ? WORKER_MIN_BYTES + (1 << 20) : 0);
      for (let at = 0; at < random.length; at += 65536) crypto.getRandomValues(random.subarray(at, at + 65536));
      const tar = layerTar(random);
      await Deno.writeFile(`${dir}/layer.tar`, tar);
      const blob = await run(["gzip", "-1", "-n", "-c", `${dir}/layer.tar`]);
      await Deno.remove(`${dir}/layer.tar`);
      await writeOciDir(`${dir}/image`, [{ tar, compression: "gzip", blob }], { Cmd: ["/bin/sh"] });
      for (const entry of ENTRIES) {
        await t.step(`[${entry}]`, () => interruptConversion(entry, `oci:${dir}/image`, `${dir}/out-${entry}`));
      }
    });
  });
}

Deno.test("convert stops on SIGINT in the middle of the largest image of the suite (Debian system image)", async (t) => {
  await withTempDir(async (dir) => {
    const image = await debianSystemImage(`${dir}/image`);
    for (const entry of ENTRIES) {
      await t.step(`[${entry}]`, () => interruptConversion(entry, `oci:${image.dir}`, `${dir}/out-${entry}`));
    }
  });
});

/** The temporary file a compressed outer archive is unpacked to, beside DEST. */
function unpackedIn(dir: string): string | undefined {
  return [...Deno.readDirSync(dir)].find((e) => /^\.(ct\.)?oci2lxc-.*\.tar$/.test(e.name))?.name;
}

Deno.test("convert and verify stop on SIGINT while they unpack a compressed outer archive, and remove the partial file", async (t) => {
  await withTempDir(async (dir) => {
    // A gzip'd tar holding one file of zeros, 4 GiB with the end blocks, and no image at all:
    // unpacked to the end it fails as "neither index.json nor manifest.json" (exit 3), so
    // exit 130 shows the signal stopped the unpacking itself. 4 GiB leaves more work than the
    // 200 ms a signal may wait for when the converter has one CPU to itself (event_loop_pause.ts);
    // stopped early, little of it is written. Made of gzip members (valid, as `cat a.gz b.gz`
    // is): the header, then one member of 16 MiB of zeros 256 times.
    const filler = 4 * 2 ** 30 - 1024;
    await Deno.writeFile(`${dir}/header`, header("filler", "0", filler));
    await run(
      ["bash", "-c", "gzip -1 -n -c header > outer.tar.gz && head -c 16M /dev/zero | gzip -1 -n > zeros.gz"],
      undefined,
      dir,
    );
    const zeros = await Deno.readFile(`${dir}/zeros.gz`);
    const outer = await Deno.open(`${dir}/outer.tar.gz`, { append: true });
    for (let i = 0; i < 256; i++) await outer.write(zeros);
    outer.close();
    const unpacking: Moment = {
      what: "a partly unpacked outer archive",
      stoppedAt: /^error: Cannot open \S*\/outer\.tar\.gz: interrupted while unpacking it$/,
      reached: (out) => {
        const name = unpackedIn(out);
        return name !== undefined && (fileSize(`${out}/${name}`) ?? 0) > 0;
      },
      midway: (out) => {
        const name = unpackedIn(out);
        return name !== undefined && (fileSize(`${out}/${name}`) ?? filler) < filler;
      },
    };
    for (const entry of ENTRIES) {
      await t.step(
        `[${entry}] convert`,
        () => interruptConversion(entry, `docker-archive:${dir}/outer.tar.gz`, `${dir}/out-${entry}`, unpacking),
      );
      // verify unpacks into $TMPDIR: point it at the directory the test watches.
      const out = `${dir}/verify-${entry}`;
      await t.step(
        `[${entry}] verify`,
        () => interruptCli(entry, ["verify", `docker-archive:${dir}/outer.tar.gz`], out, unpacking, { TMPDIR: out }),
      );
    }
  });
});

/** The size of what `path` names, or undefined when nothing is there. */
function fileSize(path: string): number | undefined {
  try {
    return Deno.statSync(path).size;
  } catch {
    return undefined;
  }
}

Deno.test("a second SIGINT while the staging directory is being removed ends convert at once with 130, leaving the rest", async () => {
  await withTempDir(async (dir) => {
    const tar = layerTar();
    const blob = await run(["gzip", "-1", "-n", "-c"], tar);
    await writeOciDir(`${dir}/image`, [{ tar, compression: "gzip", blob }], { Cmd: ["/bin/sh"] });
    const out = `${dir}/out`;
    await Deno.mkdir(out);
    const child = await spawnCli("main.ts", ["convert", `oci:${dir}/image`, `${out}/ct`]);
    const output = child.output();
    const stop = setTimeout(() => child.kill("SIGKILL"), 180_000);
    const rootfs = () => `${out}/${stagingIn(out) ?? "none"}/rootfs`;
    const freeze = async () => {
      child.kill("SIGSTOP");
      await waitFor("the converter to stop on SIGSTOP", 10_000, () => processState(child.pid) === "T", { everyMs: 1 });
    };
    try {
      // Half the directories written: the clean-up of the rest takes a while.
      await waitFor("d15", 60_000, () => fileSize(`${rootfs()}/d15`) !== undefined, { everyMs: 2 });
      await freeze();
      child.kill("SIGINT");
      child.kill("SIGCONT");
      // The clean-up starts with the files at the top of the rootfs (the big ones), then the directories.
      await waitFor("the clean-up to remove big0", 30_000, () => fileSize(`${rootfs()}/big0`) === undefined, {
        everyMs: 1,
      });
      await freeze();
      const left = stagingIn(out);
      assert(left !== undefined && fileSize(`${out}/${left}/rootfs/d0`) !== undefined, "not mid-clean-up");
      child.kill("SIGINT");
      child.kill("SIGCONT");
      const r = await output;
      assert.deepEqual(r.code, 130, new TextDecoder().decode(r.stderr));
      // It did not finish cleaning up: the second signal ended it.
      assert(fileSize(`${out}/${left}`) !== undefined, "the staging directory was removed to the end");
    } finally {
      clearTimeout(stop);
    }
  });
});
