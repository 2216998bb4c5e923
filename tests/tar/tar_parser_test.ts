/**
 * TarParser against archives written by GNU tar and Python's tarfile
 * (fixtures/tar/make.sh). Expected values are what make.sh asked the tools
 * to write, not what the parser returned.
 */

import assert from "node:assert/strict";
import { Oci2LxcError } from "../../core/errors.ts";
import { MAX_EXTENSION_SIZE, TarParser } from "../../core/tar/tar_parser.ts";
import type { TarEntry, TarEntryType, TarHandler } from "../../core/tar/tar_entry.ts";

const FIXTURES = new URL("../../fixtures/tar/", import.meta.url);

function fixture(name: string): Uint8Array {
  return Deno.readFileSync(new URL(name, FIXTURES));
}

/** Bytes as a string with one char per byte, so expected names can say "\xe9". */
function latin1(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return s;
}

function bytesOf(s: string): Uint8Array {
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}

/** A member as the tests compare it: plain values, bytes as latin1 strings. */
interface Member {
  path: string;
  type: TarEntryType;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  atime: number | undefined;
  linkPath: string;
  uname: string;
  gname: string;
  devMajor: number;
  devMinor: number;
  xattrs: Record<string, string>;
  data: string;
}

interface Parsed {
  members: Member[];
  entries: TarEntry[];
  warnings: string[];
  /** Every chunk handed to `data`, to check they are views of the input. */
  dataChunks: Uint8Array[];
}

/** A handler that records members and checks the call protocol. */
function recorder(): { handler: TarHandler; parsed: Parsed } {
  const parsed: Parsed = {
    members: [],
    entries: [],
    warnings: [],
    dataChunks: [],
  };
  let open: { member: Member; parts: string[] } | undefined;
  const handler: TarHandler = {
    entry(entry) {
      assert.equal(
        open,
        undefined,
        "entry() called before the previous entryEnd()",
      );
      const xattrs: Record<string, string> = {};
      for (
        const [k, v] of [...entry.xattrs].sort(([a], [b]) => a < b ? -1 : 1)
      ) xattrs[k] = latin1(v);
      const member: Member = {
        path: latin1(entry.path),
        type: entry.type,
        mode: entry.mode,
        uid: entry.uid,
        gid: entry.gid,
        size: entry.size,
        mtime: entry.mtime,
        atime: entry.atime,
        linkPath: latin1(entry.linkPath),
        uname: entry.uname,
        gname: entry.gname,
        devMajor: entry.devMajor,
        devMinor: entry.devMinor,
        xattrs,
        data: "",
      };
      parsed.entries.push(entry);
      parsed.members.push(member);
      open = { member, parts: [] };
    },
    data(chunk) {
      assert.ok(open, "data() outside an entry");
      assert.equal(
        open.member.type,
        "file",
        "data() for a member that is not a file",
      );
      assert.ok(chunk.length > 0, "data() with an empty chunk");
      parsed.dataChunks.push(chunk);
      open.parts.push(latin1(chunk));
    },
    entryEnd() {
      assert.ok(open, "entryEnd() without entry()");
      open.member.data = open.parts.join("");
      assert.equal(
        open.member.data.length,
        open.member.size,
        "data length differs from size",
      );
      open = undefined;
    },
  };
  return { handler, parsed };
}

/** Parse `bytes` pushed in chunks whose sizes come from `sizes` (whole buffer by default). */
function parse(bytes: Uint8Array, sizes?: () => number, name?: string): Parsed {
  const { handler, parsed } = recorder();
  const parser = new TarParser(handler, {
    ...(name === undefined ? {} : { name }),
    onWarning: (m) => parsed.warnings.push(m),
  });
  if (sizes === undefined) {
    parser.push(bytes);
  } else {
    for (let at = 0; at < bytes.length;) {
      const n = Math.max(1, sizes());
      parser.push(bytes.subarray(at, at + n));
      at += n;
    }
  }
  parser.finish();
  return parsed;
}

/** The Oci2LxcError that `fn` throws. */
function thrown(fn: () => void): Oci2LxcError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof Oci2LxcError, `expected Oci2LxcError, got ${err}`);
    assert.equal(err.code, "image");
    return err;
  }
  assert.fail("expected an error");
}

function expectMembers(
  defaults: Partial<Member>,
  list: Partial<Member>[],
): Member[] {
  return list.map((m) => {
    const member: Member = {
      path: "",
      type: "file",
      mode: 0o644,
      uid: 0,
      gid: 0,
      size: 0,
      mtime: 0,
      atime: undefined,
      linkPath: "",
      uname: "",
      gname: "",
      devMajor: 0,
      devMinor: 0,
      xattrs: {},
      data: "",
      ...defaults,
      ...m,
    };
    member.size = member.data.length;
    return member;
  });
}

// ---------------------------------------------------------------------------
// What make.sh put into the GNU tar archives.

const A61 = "a".repeat(61);
const B60 = "b".repeat(60);
const C100 = "c".repeat(100);
const D100 = "d".repeat(100);
const E80 = "e".repeat(80);
const CAPABILITY = latin1(
  new Uint8Array(new Uint32Array([0x02000001, 1 << 10, 0, 0, 0]).buffer),
);

const ALICE = { uid: 1000, gid: 1000, uname: "alice", gname: "staff" };

const GNUTAR_BASE: Partial<Member>[] = [
  { path: "dir", type: "directory", mode: 0o755 },
  { path: "dir/hello.txt", data: "hello, tar\n", ...ALICE },
  { path: "dir/exec.sh", mode: 0o4755, data: "#!/bin/sh\necho hi\n" },
  { path: "dir/empty", mode: 0o600 },
  {
    path: "dir/link-to-hello",
    type: "symlink",
    mode: 0o777,
    linkPath: "hello.txt",
  },
  {
    path: "dir/hard-hello",
    type: "hardlink",
    linkPath: "dir/hello.txt",
    ...ALICE,
  },
  { path: "dir/sticky", type: "directory", mode: 0o1777 },
  { path: "names", type: "directory", mode: 0o755 },
  { path: "names/latin1-\xe9t\xe9.txt", data: "latin1\n" },
  { path: "names/tab\there", data: "tab\n" },
  { path: "names/new\nline", data: "newline\n" },
  { path: "names/back\\slash", data: "backslash\n" },
];
const GNUTAR_USTAR: Partial<Member>[] = [
  ...GNUTAR_BASE,
  { path: "dir/fifo", type: "fifo", mode: 0o640 },
  { path: "dir/null", type: "char", mode: 0o666, devMajor: 1, devMinor: 3 },
  { path: "dir/loop7", type: "block", mode: 0o660, devMajor: 7, devMinor: 0 },
  { path: "long", type: "directory", mode: 0o755 },
  { path: `long/${A61}`, type: "directory", mode: 0o755 },
  { path: `long/${A61}/${B60}.txt`, data: "long ustar\n" },
];
const GNUTAR_GNU: Partial<Member>[] = [
  ...GNUTAR_USTAR,
  { path: `long/${C100}`, type: "directory", mode: 0o755 },
  { path: `long/${C100}/${D100}`, type: "directory", mode: 0o755 },
  { path: `long/${C100}/${D100}/${E80}.txt`, data: "very long\n" },
  {
    path: "long/link",
    type: "symlink",
    mode: 0o777,
    linkPath: "../" + "t".repeat(120),
  },
  {
    path: "dir/big-owner",
    uid: 3000000,
    gid: 3000001,
    uname: "big",
    gname: "biggrp",
    data: "big owner\n",
  },
];
const GNUTAR_PAX: Partial<Member>[] = [
  ...GNUTAR_GNU,
  {
    path: "dir/xattr-file",
    data: "xattrs\n",
    xattrs: {
      "security.capability": CAPABILITY,
      "user.bin": "\x00\x01\xfe\xff\n=x",
    },
  },
  { path: "dir/fraction", data: "fraction\n", mtime: 1700000000.123456789 },
];
const GNUTAR_DEFAULTS = { mtime: 1700000000, uname: "root", gname: "root" };

// What make.sh put into the Python tarfile archives.

const PY_BASE: Partial<Member>[] = [
  { path: "pydir", type: "directory", mode: 0o755 },
  {
    path: "pydir/data.bin",
    mode: 0o640,
    uid: 1000,
    gid: 1001,
    uname: "alice",
    gname: "staff",
    mtime: 1600000001,
    data: latin1(Uint8Array.from({ length: 768 }, (_, i) => i % 256)),
  },
  { path: "pydir/sym", type: "symlink", mode: 0o777, linkPath: "data.bin" },
  {
    path: "pydir/hard",
    type: "hardlink",
    mode: 0o640,
    linkPath: "pydir/data.bin",
  },
  { path: "pydir/tty", type: "char", mode: 0o620, devMajor: 5, devMinor: 0 },
  { path: "pydir/sda", type: "block", mode: 0o660, devMajor: 8, devMinor: 0 },
  { path: "pydir/pipe", type: "fifo", mode: 0o644 },
  { path: "pydir/latin1-\xe9t\xe9.txt", data: "latin1\n" },
  { path: "pydir/new\nline\ttab\\back", data: "ctl\n" },
  { path: `pydir/${"p".repeat(90)}/${"q".repeat(90)}.txt`, data: "long\n" },
];
const PY_LONG: Partial<Member>[] = [
  {
    path: `pydir/${"r".repeat(120)}/${"r".repeat(120)}/${"s".repeat(50)}`,
    data: "longer\n",
  },
  {
    path: "pydir/longlink",
    type: "symlink",
    mode: 0o777,
    linkPath: "../" + "t".repeat(150),
  },
  {
    path: "pydir/bigid",
    uid: 3000000,
    gid: 3000001,
    uname: "big",
    gname: "biggrp",
  },
];
const PY_DEFAULTS = { mtime: 1600000000, uname: "root", gname: "root" };

const PY_PAX = expectMembers(PY_DEFAULTS, [
  ...PY_BASE,
  ...PY_LONG,
  {
    path: "pydir/xattrs",
    data: "xattrs\n",
    mtime: 1700000000.25,
    atime: 1700000001.5,
    gname: "localgroup",
    xattrs: {
      "security.capability": CAPABILITY,
      "user.bin": "\x00\x01\xfe\xff\n=x",
      "user.lib": "lib\x00value",
    },
  },
]);
// The global header's gname overrides every member's header field, but not
// a member's own pax gname.
for (const m of PY_PAX) if (m.path !== "pydir/xattrs") m.gname = "globalgroup";

const CRAFTED = expectMembers({
  mtime: 1600000000,
  uname: "root",
  gname: "root",
}, [
  { path: "hl-with-size", type: "hardlink", linkPath: "pydir/data.bin" },
  {
    path: "olddir",
    type: "directory",
    mode: 0o755,
    mtime: 1600000002,
    uname: "",
    gname: "",
  },
  {
    path: "b256-size.txt",
    uid: 3000000,
    mtime: 1700000002,
    data: "base-256 size\n",
  },
  { path: "signed-\xe9\xe9\xe9.txt", data: "signed\n" },
  {
    path: "spaces.txt",
    uid: 0o1000,
    gid: 0o12,
    mtime: 0o1234567,
    data: "0123456789",
  },
  { path: "pax-size.txt", data: "pax\n" },
  { path: "after.txt", data: "after\n" },
]);

const GOOD: Record<string, { members: Member[]; warnings: number }> = {
  "gnutar_v7.tar": {
    members: expectMembers({ mtime: 1700000000 }, GNUTAR_BASE).map((m) => ({
      ...m,
      uname: "",
      gname: "",
    })),
    warnings: 0,
  },
  "gnutar_ustar.tar": {
    members: expectMembers(GNUTAR_DEFAULTS, GNUTAR_USTAR),
    warnings: 0,
  },
  "gnutar_gnu.tar": {
    members: expectMembers(GNUTAR_DEFAULTS, GNUTAR_GNU),
    warnings: 0,
  },
  "gnutar_pax.tar": {
    members: expectMembers(GNUTAR_DEFAULTS, GNUTAR_PAX),
    warnings: 0,
  },
  "gnutar_empty.tar": { members: [], warnings: 0 },
  "python_ustar.tar": {
    members: expectMembers(PY_DEFAULTS, PY_BASE),
    warnings: 0,
  },
  "python_gnu.tar": {
    members: expectMembers(PY_DEFAULTS, [
      ...PY_BASE,
      ...PY_LONG,
      { path: "pydir/negative-mtime", mtime: -1000, data: "old\n" },
    ]),
    warnings: 0,
  },
  "python_pax.tar": { members: PY_PAX, warnings: 0 },
  "crafted.tar": { members: CRAFTED, warnings: 0 },
  "no_end.tar": {
    members: expectMembers(
      { mtime: 1600000000, uname: "root", gname: "root" },
      [
        { path: "a.txt", data: "a\n" },
        { path: "b", type: "directory", mode: 0o755 },
      ],
    ),
    warnings: 1,
  },
};

for (const [file, expected] of Object.entries(GOOD)) {
  Deno.test(`TarParser reads ${file} as the tools wrote it`, () => {
    const parsed = parse(fixture(file));
    assert.deepEqual(parsed.members, expected.members);
    assert.equal(
      parsed.warnings.length,
      expected.warnings,
      parsed.warnings.join("\n"),
    );
  });
}

/** A small deterministic generator, so a failing split can be reproduced. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

Deno.test("TarParser gives the same members whatever the chunk boundaries", () => {
  const splits: Record<string, () => () => number> = {
    "1-byte": () => () => 1,
    "511-byte": () => () => 511,
    "513-byte": () => () => 513,
    "random 1..1500": () => {
      const r = random(42);
      return () => 1 + Math.floor(r() * 1500);
    },
    "random 1..20": () => {
      const r = random(7);
      return () => 1 + Math.floor(r() * 20);
    },
  };
  for (const file of Object.keys(GOOD)) {
    const bytes = fixture(file);
    const whole = parse(bytes);
    for (const [split, make] of Object.entries(splits)) {
      const chunked = parse(bytes, make());
      assert.deepEqual(
        chunked.members,
        whole.members,
        `${file} split ${split}`,
      );
      assert.deepEqual(
        chunked.warnings,
        whole.warnings,
        `${file} split ${split}`,
      );
      assert.deepEqual(
        chunked.entries.map((e) => e.offset),
        whole.entries.map((e) => e.offset),
        `${file} split ${split}`,
      );
    }
  }
});

Deno.test("TarParser hands file data over as views of the pushed chunks", () => {
  for (const file of ["gnutar_pax.tar", "python_gnu.tar"]) {
    const bytes = fixture(file);
    for (
      const parsed of [
        parse(bytes),
        parse(bytes, () => 513),
        parse(bytes, () => 1),
      ]
    ) {
      assert.ok(parsed.dataChunks.length > 0);
      for (const chunk of parsed.dataChunks) {
        assert.equal(chunk.buffer, bytes.buffer);
      }
    }
  }
});

Deno.test("TarParser reports the offset of each member's first header", () => {
  const parsed = parse(fixture("gnutar_ustar.tar"));
  // ustar without extensions: dir (header only) at 0, hello.txt at 512, exec.sh after
  // hello.txt's header and one data block.
  assert.deepEqual(parsed.entries.slice(0, 3).map((e) => e.offset), [
    0,
    512,
    1536,
  ]);
  // A GNU long name's 'L' header counts as the member's start.
  const gnu = fixture("python_gnu.tar");
  const long = parse(gnu).entries.find((e) => e.path.length > 256)!;
  assert.equal(String.fromCharCode(gnu[long.offset + 156]!), "L");
});

Deno.test("TarParser streams a 10 GiB member with base-256 size without buffering it", () => {
  const header = fixture("ten_gib_header.bin");
  const size = 10 * 1024 ** 3;
  const zeros = new Uint8Array(8 * 1024 * 1024);
  let entry: TarEntry | undefined;
  let total = 0;
  let copies = 0;
  let ended = 0;
  const parser = new TarParser({
    entry: (e) => entry = e,
    data: (chunk) => {
      total += chunk.length;
      if (chunk.buffer !== zeros.buffer && chunk.buffer !== header.buffer) {
        copies++;
      }
    },
    entryEnd: () => ended++,
  });
  parser.push(header);
  for (let pushed = 0; pushed < size; pushed += zeros.length) {
    parser.push(zeros);
  }
  parser.push(new Uint8Array(1024));
  parser.finish();
  assert.equal(entry?.size, size);
  assert.equal(latin1(entry!.path), "ten-gib.bin");
  assert.equal(total, size);
  assert.equal(copies, 0);
  assert.equal(ended, 1);
});

// ---------------------------------------------------------------------------
// End of the archive.

Deno.test("TarParser accepts a stream without end marker and warns", () => {
  const parsed = parse(fixture("no_end.tar"), undefined, "layer sha256:ab12");
  assert.equal(parsed.members.length, 2);
  assert.match(
    parsed.warnings[0]!,
    /^layer sha256:ab12: no end-of-archive marker/,
  );
});

Deno.test("TarParser accepts an empty stream with a warning", () => {
  const parsed = parse(new Uint8Array(0));
  assert.deepEqual(parsed.members, []);
  assert.equal(parsed.warnings.length, 1);
  assert.match(parsed.warnings[0]!, /empty/);
});

Deno.test("TarParser ignores trailing data after the end marker and warns once", () => {
  const tar = fixture("gnutar_ustar.tar"); // written with -b 1: ends right after two zero blocks
  const junk = new TextEncoder().encode("JUNK after the archive\n".repeat(100));
  const bytes = new Uint8Array([...tar, ...new Uint8Array(300), ...junk]);
  for (const sizes of [undefined, () => 1, () => 700]) {
    const parsed = parse(bytes, sizes);
    assert.deepEqual(parsed.members, GOOD["gnutar_ustar.tar"]!.members);
    assert.equal(parsed.warnings.length, 1, parsed.warnings.join("\n"));
    assert.match(
      parsed.warnings[0]!,
      new RegExp(`from byte ${tar.length + 300}$`),
    );
  }
});

Deno.test("TarParser stops at a lone zero block and warns", () => {
  const tar = fixture("gnutar_ustar.tar");
  const parsed = parse(tar.subarray(0, tar.length - 512));
  assert.deepEqual(parsed.members, GOOD["gnutar_ustar.tar"]!.members);
  assert.equal(parsed.warnings.length, 1);
  assert.match(
    parsed.warnings[0]!,
    new RegExp(`single zero block at byte ${tar.length - 1024}`),
  );
});

// ---------------------------------------------------------------------------
// Damaged input.

/** Replace a header field and recompute the header's checksum, as a writer would. */
function patchHeader(
  bytes: Uint8Array,
  at: number,
  field: number,
  value: Uint8Array,
): Uint8Array {
  const copy = bytes.slice();
  copy.set(value, at + field);
  copy.fill(0x20, at + 148, at + 156);
  let sum = 0;
  for (let i = at; i < at + 512; i++) sum += copy[i]!;
  copy.set(bytesOf(sum.toString(8).padStart(6, "0") + "\0 "), at + 148);
  return copy;
}

Deno.test("TarParser rejects a header with a bad checksum, naming the offset", () => {
  const bytes = fixture("gnutar_ustar.tar").slice();
  bytes[512 + 1] = bytes[512 + 1]! ^ 0x01; // second header (dir/hello.txt)
  const err = thrown(() => parse(bytes, undefined, "layer sha256:ab12"));
  assert.match(
    err.message,
    /^Cannot read layer sha256:ab12: header checksum does not match/,
  );
  assert.match(err.message, / at byte 512$/);
  // Split at every block boundary and inside: same error.
  const split = thrown(() => parse(bytes, () => 100, "layer sha256:ab12"));
  assert.equal(split.message, err.message);
});

Deno.test("TarParser rejects data that is not tar", () => {
  const err = thrown(() => parse(new TextEncoder().encode("not a tar file\n".repeat(100))));
  assert.match(err.message, /checksum does not match.* at byte 0$/);
});

Deno.test("TarParser rejects a stream truncated inside a member's data, naming it", () => {
  const tar = fixture("gnutar_ustar.tar");
  const err = thrown(() => parse(tar.subarray(0, 1024 + 5)));
  assert.match(
    err.message,
    /member "dir\/hello\.txt" is truncated, 6 bytes of data missing at byte 1029$/,
  );
});

Deno.test("TarParser rejects a stream truncated inside a header", () => {
  const tar = fixture("gnutar_ustar.tar");
  const err = thrown(() => parse(tar.subarray(0, 512 + 100), () => 7));
  assert.match(
    err.message,
    /stream ends 100 bytes into a header block at byte 512$/,
  );
});

Deno.test("TarParser rejects a stream truncated inside a block's padding", () => {
  const tar = fixture("gnutar_ustar.tar");
  const err = thrown(() => parse(tar.subarray(0, 1024 + 11 + 10)));
  assert.match(
    err.message,
    /stream ends 491 bytes before the end of a member's last block/,
  );
});

Deno.test("TarParser rejects a stream truncated inside a pax header or before its member", () => {
  const tar = fixture("python_pax.tar"); // starts with a global header, then the first member
  assert.equal(String.fromCharCode(tar[156]!), "g");
  assert.match(
    thrown(() => parse(tar.subarray(0, 512 + 10))).message,
    /inside an extended header body/,
  );
  // python_pax.tar's xattrs member has a local 'x' header; cut right after its body.
  const xattrs = parse(tar).entries.find((e) => latin1(e.path) === "pydir/xattrs")!;
  assert.equal(String.fromCharCode(tar[xattrs.offset + 156]!), "x");
  const err = thrown(() => parse(tar.subarray(0, xattrs.offset + 1024)));
  assert.match(
    err.message,
    /stream ends after an extended header, before its member/,
  );
  const zeros = new Uint8Array([
    ...tar.subarray(0, xattrs.offset + 1024),
    ...new Uint8Array(1024),
  ]);
  assert.match(
    thrown(() => parse(zeros)).message,
    /end-of-archive marker follows an extended header/,
  );
});

Deno.test("TarParser rejects a GNU sparse member as unsupported, naming it", () => {
  const gnu = thrown(() => parse(fixture("gnutar_sparse_gnu.tar")));
  assert.match(
    gnu.message,
    /member "sparse" has unsupported type 'S' \(GNU sparse file\) at byte 0$/,
  );
  const pax = thrown(() => parse(fixture("gnutar_sparse_pax.tar")));
  assert.match(
    pax.message,
    /member "sparse" is a GNU sparse file, which is not supported at byte 0$/,
  );
});

Deno.test("TarParser rejects a GNU volume label, naming the type", () => {
  const err = thrown(() => parse(fixture("gnutar_volume.tar")));
  assert.match(
    err.message,
    /member "my label" has unsupported type 'V' \(GNU volume label\) at byte 0$/,
  );
});

Deno.test("TarParser ignores a hard link's size, so pax hard-link data fails loudly", () => {
  // GNU tar, Python and Go read no data after a hard link; the data block is
  // then not a header.
  const err = thrown(() => parse(fixture("hardlink_data.tar")));
  assert.match(err.message, /header checksum does not match.* at byte 1536$/);
});

Deno.test("TarParser rejects a pax header larger than 1 MiB", () => {
  const tar = fixture("python_pax.tar");
  const big = patchHeader(
    tar,
    0,
    124,
    bytesOf((MAX_EXTENSION_SIZE + 1).toString(8).padStart(11, "0") + "\0"),
  );
  const err = thrown(() => parse(big));
  assert.match(
    err.message,
    /extended header of 1048577 bytes .*exceeds the limit of 1048576 bytes at byte 0$/,
  );
});

Deno.test("TarParser rejects a GNU long name larger than 1 MiB", () => {
  const tar = fixture("python_gnu.tar");
  const long = parse(tar).entries.find((e) => e.path.length > 256)!;
  assert.equal(String.fromCharCode(tar[long.offset + 156]!), "L");
  const big = patchHeader(
    tar,
    long.offset,
    124,
    bytesOf((2 * MAX_EXTENSION_SIZE).toString(8).padStart(11, "0") + "\0"),
  );
  const err = thrown(() => parse(big));
  assert.match(
    err.message,
    new RegExp(`extended header of 2097152 bytes.* at byte ${long.offset}$`),
  );
});

Deno.test("TarParser rejects a malformed pax record", () => {
  const tar = fixture("python_pax.tar");
  // The global header body starts at 512 with "<length> gname=..."; break the length.
  const bad = tar.slice();
  bad[512] = 0x78; // 'x' where a digit should be
  const err = thrown(() => parse(bad));
  assert.match(
    err.message,
    /malformed pax header: pax record at body byte 0 has no decimal length at byte 0$/,
  );
});

Deno.test("TarParser rejects an invalid numeric field, naming the member", () => {
  const tar = fixture("gnutar_ustar.tar");
  const bad = patchHeader(tar, 512, 108, bytesOf("00x0000\0")); // uid of dir/hello.txt
  const err = thrown(() => parse(bad));
  assert.match(
    err.message,
    /member "dir\/hello\.txt" has an invalid uid field at byte 512$/,
  );
});

Deno.test("TarParser refuses to be used after finish or after an error", () => {
  const { handler } = recorder();
  const parser = new TarParser(handler);
  parser.push(new Uint8Array(1024));
  parser.finish();
  assert.match(
    thrown(() => parser.push(new Uint8Array(1))).message,
    /already finished or failed/,
  );
  assert.match(
    thrown(() => parser.finish()).message,
    /already finished or failed/,
  );
  const failed = new TarParser(recorder().handler);
  thrown(() => failed.push(new TextEncoder().encode("x".repeat(512))));
  assert.match(
    thrown(() => failed.finish()).message,
    /already finished or failed/,
  );
});

Deno.test("TarParser keeps entry paths valid after later pushes", () => {
  // Entries are kept by the rootfs (hard links, deferred directory metadata),
  // so their bytes must not alias the caller's reused chunk buffer.
  const tar = fixture("gnutar_gnu.tar");
  const entries: TarEntry[] = [];
  const parser = new TarParser({
    entry: (e) => entries.push(e),
    data: () => {},
    entryEnd: () => {},
  });
  const buffer = new Uint8Array(4096);
  for (let at = 0; at < tar.length; at += buffer.length) {
    const n = Math.min(buffer.length, tar.length - at);
    buffer.set(tar.subarray(at, at + n));
    parser.push(buffer.subarray(0, n));
    buffer.fill(0x41);
  }
  parser.finish();
  assert.deepEqual(
    entries.map((e) => latin1(e.path)),
    GOOD["gnutar_gnu.tar"]!.members.map((m) => m.path),
  );
  assert.deepEqual(
    entries.map((e) => latin1(e.linkPath)),
    GOOD["gnutar_gnu.tar"]!.members.map((m) => m.linkPath),
  );
});
