import assert from "node:assert/strict";
import { TarWriter, type TarWriterEntry } from "../../core/tar/tar_writer.ts";
import { bytesOf, concat, latin1, readTar, run } from "./_helpers.ts";
import { systemTest } from "../_helpers/tier.ts";

const enc = new TextEncoder();

function write(entries: readonly (TarWriterEntry & { data?: Uint8Array })[], bufferSize?: number): Uint8Array {
  const parts: Uint8Array[] = [];
  const tar = new TarWriter((c) => parts.push(c.slice()), bufferSize ? { bufferSize } : {});
  for (const e of entries) {
    tar.add(e);
    if (e.data) {
      for (let at = 0; at < e.data.length; at += 1000) tar.write(e.data.subarray(at, at + 1000));
    }
  }
  tar.finish();
  const out = concat(parts);
  assert.equal(out.length, tar.bytes);
  return out;
}

function entry(
  path: string | Uint8Array,
  rest: Partial<TarWriterEntry> & Pick<TarWriterEntry, "type">,
): TarWriterEntry {
  return {
    path: typeof path === "string" ? enc.encode(path) : path,
    mode: rest.type === "directory" ? 0o755 : 0o644,
    uid: 0,
    gid: 0,
    mtime: 1_700_000_000,
    ...rest,
  };
}

const LONG_NAME = `./${"a".repeat(150)}/${"b".repeat(150)}/leaf`; // no ustar split fits: pax path
const SPLIT_NAME = `./${"p".repeat(120)}/${"n".repeat(90)}`; // fits ustar prefix + name
const LONG_TARGET = "t".repeat(180);
// Its last component alone is over 100 bytes, so only a pax path can hold it.
const NOT_UTF8 = bytesOf(`./${"x".repeat(120)}/odd\n\xff\xfe${"y".repeat(100)}`);
const SHORT_ODD = bytesOf("./odd\n\xff");
const data = (n: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + 7) & 255);

const CASES: (TarWriterEntry & { data?: Uint8Array })[] = [
  entry("./", { type: "directory", mode: 0o755, mtime: 0 }),
  entry("./dir", { type: "directory", mode: 0o1777, uid: 5, gid: 6 }),
  { ...entry("./dir/file", { type: "file", mode: 0o4755, size: 1500 }), data: data(1500) },
  entry("./dir/hard", { type: "hardlink", linkPath: enc.encode("./dir/file") }),
  entry("./dir/sym", { type: "symlink", mode: 0o777, linkPath: enc.encode("../x y") }),
  entry("./dev/null", { type: "char", mode: 0o666, devMajor: 1, devMinor: 3 }),
  entry("./dev/loop0", { type: "block", mode: 0o660, devMajor: 7, devMinor: 0 }),
  entry("./fifo", { type: "fifo", mode: 0o600 }),
  { ...entry(LONG_NAME, { type: "file", size: 3 }), data: enc.encode("abc") },
  { ...entry(SPLIT_NAME, { type: "file", size: 0 }) },
  entry("./long-link", { type: "symlink", mode: 0o777, linkPath: enc.encode(LONG_TARGET) }),
  { ...entry(NOT_UTF8, { type: "file", size: 2 }), data: enc.encode("hi") },
  entry(SHORT_ODD, { type: "file", size: 0 }),
  entry("./big-ids", { type: "file", uid: 3_000_000, gid: 100_000, size: 0 }),
  entry("./old", { type: "file", mtime: -86_400, size: 0 }),
  entry("./fraction", { type: "file", mtime: 1_700_000_000, mtimeNsec: 123_456_789, size: 0 }),
  entry("./neg-fraction", { type: "file", mtime: -2, mtimeNsec: 500_000_000, size: 0 }),
  entry("./xattrs", {
    type: "file",
    size: 0,
    xattrs: [
      ["user.text", enc.encode("hello")],
      ["user.binary", new Uint8Array([0, 0x0a, 0xff, 0x3d])],
      ["security.capability", new Uint8Array(20).fill(1)],
    ],
  }),
  { ...entry("./big", { type: "file", size: 200_000 }), data: data(200_000) },
];

Deno.test("TarWriter output reads back through TarParser with every field intact", () => {
  for (const bufferSize of [4096, 1 << 20]) {
    const archive = write(CASES, bufferSize);
    assert.equal(archive.length % 512, 0);
    const { members, warnings } = readTar(archive, 777);
    assert.deepEqual(warnings, []);
    assert.equal(members.length, CASES.length);
    CASES.forEach((c, i) => {
      const m = members[i]!;
      const want = latin1(c.path).replace(/\/+$/, "") || ".";
      assert.equal(latin1(m.entry.path), want === "." ? "." : want, `path of member ${i}`);
      assert.equal(m.entry.type, c.type);
      assert.equal(m.entry.mode, c.mode);
      assert.equal(m.entry.uid, c.uid);
      assert.equal(m.entry.gid, c.gid);
      assert.equal(m.entry.mtime, c.mtime + (c.mtimeNsec ?? 0) / 1e9, `mtime of ${want}`);
      assert.equal(latin1(m.entry.linkPath), latin1(c.linkPath ?? new Uint8Array()));
      if (c.type === "char" || c.type === "block") {
        assert.deepEqual([m.entry.devMajor, m.entry.devMinor], [c.devMajor, c.devMinor]);
      }
      assert.deepEqual(
        [...m.entry.xattrs].map(([k, v]) => [k, latin1(v)]),
        [...(c.xattrs ?? [])].map(([k, v]) => [k, latin1(v)]),
      );
      assert.equal(latin1(m.data), latin1(c.data ?? new Uint8Array()));
    });
  }
});

systemTest("TarWriter output is read by GNU tar: names, owners, modes, links and sizes", () => {
  const dirPath = Deno.makeTempDirSync({ prefix: "oci2lxc-tarw-" });
  try {
    const archive = write(CASES);
    Deno.writeFileSync(`${dirPath}/a.tar`, archive);
    const list = new TextDecoder().decode(run("tar", ["--numeric-owner", "-tvf", `${dirPath}/a.tar`]).stdout);
    const lines = list.trimEnd().split("\n");
    // GNU tar escapes a newline in a name as \n, so every member is one line.
    assert.equal(lines.length, CASES.length);
    assert.match(lines[2]!, /^-rwsr-xr-x 0\/0 +1500 .* \.\/dir\/file$/);
    assert.match(lines[3]!, /^hrw-r--r-- 0\/0 +0 .* \.\/dir\/hard link to \.\/dir\/file$/);
    assert.match(lines[4]!, / \.\/dir\/sym -> \.\.\/x y$/);
    assert.match(lines[5]!, /^crw-rw-rw- 0\/0 +1,3 /);
    assert.ok(lines[8]!.endsWith(LONG_NAME), lines[8]);
    assert.ok(lines[9]!.endsWith(SPLIT_NAME), lines[9]);
    assert.ok(lines[10]!.endsWith(`-> ${LONG_TARGET}`), lines[10]);
    assert.ok(lines[12]!.endsWith("./odd\\n\\377"), lines[12]);
    assert.match(lines[13]!, /^-rw-r--r-- 3000000\/100000 /);
    assert.match(lines[14]!, / 1969-12-31 /);
    // Raw bytes of the name that is not UTF-8 survive extraction.
    Deno.mkdirSync(`${dirPath}/x`);
    run("tar", ["--numeric-owner", "--xattrs", "--xattrs-include=*", "-xpf", `${dirPath}/a.tar`, "-C", `${dirPath}/x`]);
    const odd = [...Deno.readDirSync(`${dirPath}/x/${"x".repeat(120)}`)];
    assert.equal(odd.length, 1);
    const st = Deno.statSync(`${dirPath}/x/fraction`);
    assert.equal(st.mtime?.getTime(), 1_700_000_000_123);
    assert.equal(Deno.statSync(`${dirPath}/x/big-ids`).uid, 3_000_000);
  } finally {
    Deno.removeSync(dirPath, { recursive: true });
  }
});

Deno.test("TarWriter sizes pax records right where the length gains a digit", () => {
  // An xattr record is value + 22 bytes + its length digits: 99 bytes at 75, 101 at 76; 999 at 974, 1001 at 975.
  for (const v of [...range(70, 80), ...range(970, 980)]) {
    const value = data(v);
    const archive = write([entry("./x", { type: "file", size: 0, xattrs: [["user.k", value]] })]);
    const { members } = readTar(archive);
    assert.equal(latin1(members[0]!.entry.xattrs.get("user.k")!), latin1(value), `value of ${v} bytes`);
  }
  // A path record is the path + 7 bytes + digits: 999 bytes for a 989-byte path, 1001 for 990.
  for (const n of range(985, 995)) {
    const name = `./${"z".repeat(n - 2)}`;
    const { members } = readTar(write([entry(name, { type: "file", size: 0 })]));
    assert.equal(latin1(members[0]!.entry.path), name);
  }
});

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

Deno.test("TarWriter writes ustar only when fields fit, and pax with hdrcharset for names that are not UTF-8", () => {
  const plain = write([entry("./a", { type: "file", size: 0 })]);
  assert.equal(plain.length, 512 * 3);
  assert.equal(plain[156], 0x30);
  const odd = write([entry(NOT_UTF8, { type: "file", size: 0 })]);
  const text = latin1(odd);
  assert.equal(odd[156], 0x78, "a pax header comes first");
  assert.ok(text.includes(" hdrcharset=BINARY\n"));
  assert.ok(text.includes(` path=${latin1(NOT_UTF8)}\n`));
  const long = write([entry(LONG_NAME, { type: "file", size: 0 })]);
  assert.ok(!latin1(long).includes("hdrcharset"), "a UTF-8 path needs no hdrcharset");
});

Deno.test("TarWriter refuses data beyond a member's size, missing data and bad fields", () => {
  const tar = new TarWriter(() => {});
  tar.add(entry("./f", { type: "file", size: 3 }));
  assert.throws(() => tar.write(new Uint8Array(4)), /only 3 remain/);
  tar.write(new Uint8Array(2));
  assert.throws(() => tar.add(entry("./g", { type: "file", size: 0 })), /1 bytes of \.\/f are still missing/);
  assert.throws(() => tar.finish(), /still missing/);
  tar.write(new Uint8Array(1));
  tar.finish();
  assert.throws(() => tar.add(entry("./h", { type: "file" })), /after finish/);

  const bad = new TarWriter(() => {});
  assert.throws(() => bad.add(entry("./m", { type: "file", mode: 0o10000 })), RangeError);
  assert.throws(() => bad.add(entry("./u", { type: "file", uid: -1 })), RangeError);
  assert.throws(() => bad.add(entry("./l", { type: "symlink" })), /needs a target/);
  assert.throws(() => bad.add(entry("./x", { type: "file", xattrs: [["user.a=b", new Uint8Array()]] })), /xattr name/);
  assert.throws(() => bad.add(entry("./n", { type: "file", mtimeNsec: 1e9 })), /nanoseconds/);
  assert.throws(() => bad.add(entry(new Uint8Array([0x61, 0]), { type: "file" })), /NUL/);
});

Deno.test("TarWriter hands large data chunks to the sink without copying and keeps small ones in one buffer", () => {
  const big = data(100_000);
  const seen: Uint8Array[] = [];
  const tar = new TarWriter((c) => seen.push(c), { bufferSize: 8192 });
  tar.add(entry("./big", { type: "file", size: big.length }));
  tar.write(big);
  tar.finish();
  assert.ok(seen.includes(big), "the 100 kB chunk went through as it is");
  const others = seen.filter((c) => c !== big);
  assert.ok(others.every((c) => c.buffer === others[0]!.buffer), "everything else came from one reused buffer");
});
