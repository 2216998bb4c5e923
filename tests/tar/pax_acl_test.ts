/**
 * Layers made by GNU tar with --acls carry POSIX ACLs as SCHILY.acl.* text
 * records, not as xattrs: the parser turns them into the xattrs the rootfs
 * writer applies. The layers here are made by the real tar and setfacl.
 *
 * @module
 */
import assert from "node:assert/strict";
import { RootfsWriter } from "../../core/rootfs/rootfs_writer.ts";
import { aclTextToXattr, aclXattrToText } from "../../core/rootfs/posix_acl.ts";
import { TarParser } from "../../core/tar/tar_parser.ts";
import { TarWriter } from "../../core/tar/tar_writer.ts";
import type { IdMap } from "../../core/rootfs/id_map.ts";
import { systemTest } from "../_helpers/tier.ts";

function run(cmd: string, args: string[]): string {
  const out = new Deno.Command(cmd, { args, stdin: "null", stdout: "piped", stderr: "piped" }).outputSync();
  if (!out.success) throw new Error(`${cmd} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  return new TextDecoder().decode(out.stdout);
}

/** `getfacl -n` of `path`, one line, with the mode. */
function facl(path: string): string {
  return `${run("getfacl", ["-n", "-p", "--omit-header", path]).trim().replaceAll("\n", ",")} mode ${
    (Deno.statSync(path).mode! & 0o7777).toString(8)
  }`;
}

/** Apply the tar file at `layer` into `root` through TarParser and RootfsWriter; returns the warnings. */
function applyLayer(layer: string, root: string, idmap?: IdMap): string[] {
  const warnings: string[] = [];
  const writer = new RootfsWriter(root, { ...(idmap ? { idmap } : {}), onWarning: (w) => warnings.push(w.message) });
  try {
    writer.beginLayer("layer 1");
    const parser = new TarParser(writer, { name: "layer 1", onWarning: (w) => warnings.push(w) });
    parser.push(Deno.readFileSync(layer));
    parser.finish();
    writer.endLayer();
    writer.finish();
  } finally {
    writer.close();
  }
  return warnings;
}

systemTest("TarParser applies the SCHILY.acl.access/default records of a layer made by GNU tar --acls", () => {
  const base = Deno.makeTempDirSync({ prefix: "oci2lxc-acl-" });
  try {
    const src = `${base}/src`;
    Deno.mkdirSync(`${src}/shared`, { recursive: true });
    Deno.writeTextFileSync(`${src}/secret`, "s\n");
    Deno.chmodSync(`${src}/secret`, 0o640);
    run("setfacl", ["-m", "u:1234:r,g:5678:r,m:r", `${src}/secret`]);
    run("setfacl", ["-m", "g:4321:rwx", `${src}/shared`]);
    run("setfacl", ["-d", "-m", "u:1234:rwx,o::-", `${src}/shared`]);
    // ACLs only as SCHILY.acl.* (no --xattrs), as `tar --acls` writes them.
    run("tar", [
      "--acls",
      "--format=posix",
      "--numeric-owner",
      "-cf",
      `${base}/layer.tar`,
      "-C",
      src,
      "secret",
      "shared",
    ]);
    const raw = new TextDecoder("latin1").decode(Deno.readFileSync(`${base}/layer.tar`));
    assert.ok(raw.includes("SCHILY.acl.access=user::rw-\nuser:1234:r--"), "GNU tar wrote the text form");
    assert.ok(!raw.includes("SCHILY.xattr.system.posix_acl"), "and no xattr records");

    const root = `${base}/root`;
    assert.deepEqual(applyLayer(`${base}/layer.tar`, root), []);
    for (const p of ["secret", "shared"]) assert.equal(facl(`${root}/${p}`), facl(`${src}/${p}`), p);
    assert.match(facl(`${root}/shared`), /default:user:1234:rwx/);

    // With an id map, the ACL's named ids are shifted like owners.
    const mapped = `${base}/mapped`;
    const idmap: IdMap = {
      uid: [{ container: 0, host: 300000, size: 65536 }],
      gid: [{ container: 0, host: 300000, size: 65536 }],
    };
    assert.deepEqual(applyLayer(`${base}/layer.tar`, mapped, idmap), []);
    assert.match(facl(`${mapped}/secret`), /user:301234:r--,group::r--,group:305678:r--,mask::r--/);
  } finally {
    Deno.removeSync(base, { recursive: true });
  }
});

systemTest("TarParser warns about an ACL record it cannot apply (a user name) and keeps the rest of the member", () => {
  const base = Deno.makeTempDirSync({ prefix: "oci2lxc-acl-" });
  try {
    const src = `${base}/src`;
    Deno.mkdirSync(src);
    Deno.writeTextFileSync(`${src}/named`, "n\n");
    // uid 1 has a name on Debian (daemon), so GNU tar writes "user:daemon:r--".
    run("setfacl", ["-m", "u:1:r", `${src}/named`]);
    run("tar", ["--acls", "--format=posix", "-cf", `${base}/layer.tar`, "-C", src, "named"]);
    const root = `${base}/root`;
    const warnings = applyLayer(`${base}/layer.tar`, root);
    assert.equal(warnings.length, 1, warnings.join("\n"));
    assert.match(
      warnings[0]!,
      /^layer 1: ignoring pax record SCHILY\.acl\.access in member at byte \d+: entry "user:\w+:r--" names \w+ instead of a numeric id$/,
    );
    assert.equal(Deno.readTextFileSync(`${root}/named`), "n\n");
    assert.equal(facl(`${root}/named`), "user::rw-,group::r--,other::r-- mode 644");
  } finally {
    Deno.removeSync(base, { recursive: true });
  }
});

Deno.test("aclTextToXattr reads libacl's text forms and refuses ACLs the kernel would refuse", () => {
  const long = "user::rw-\nuser:1000:r--\ngroup::r--\ngroup:50:rw-\nmask::rw-\nother::---\n";
  const value = aclTextToXattr(long);
  assert.ok(value instanceof Uint8Array);
  assert.equal(aclXattrToText(value), long, "round trip in GNU tar's form");
  // Short tags, commas, comments, another order: the same ACL, sorted as the kernel wants.
  const short = aclTextToXattr("o::-, g:50:rw #effective:rw-\nm::rw,u::rw,g::r,u:1000:r");
  assert.deepEqual(short, value);
  for (
    const [text, why] of [
      ["user::rw-\ngroup::r--\n", /exactly one other::/],
      ["user::rw-\nuser:7:r--\ngroup::r--\nother::---\n", /no mask/],
      ["user::rw-\nuser:7:r--\nuser:7:rw-\ngroup::r--\nmask::rw-\nother::---\n", /two entries for user:7/],
      ["user::rwz\ngroup::r--\nother::---\n", /permissions/],
      ["mask:9:r--\nuser::rw-\ngroup::r--\nother::---\n", /cannot name/],
      ["user::rw-\nuser:4294967295:r--\ngroup::r--\nmask::r--\nother::---\n", /numeric id/],
    ] as const
  ) {
    const r = aclTextToXattr(text);
    assert.equal(typeof r, "string", text);
    assert.match(r as string, why);
  }
});

systemTest(
  "A default ACL on a file or symlink is skipped with a warning, as GNU tar does, and the layer applies",
  () => {
    // The kernel refuses a default ACL on anything but a directory (EACCES); GNU tar sets one on directories only. A
    // crafted layer used to fail the whole conversion with "setxattr system.posix_acl_default: EACCES".
    const base = Deno.makeTempDirSync({ prefix: "oci2lxc-acl-" });
    try {
      const chunks: Uint8Array[] = [];
      const tar = new TarWriter((c) => chunks.push(c.slice()));
      const defaultAcl = "user::rwx\ngroup::r-x\nother::---\n";
      const file = { type: "file" as const, mode: 0o640, uid: 0, gid: 0, mtime: 0 };
      const enc = (s: string) => new TextEncoder().encode(s);
      tar.add({ ...file, path: enc("text"), size: 2, acls: { default: defaultAcl } });
      tar.write(enc("t\n"));
      tar.add({ ...file, path: enc("binary"), size: 0, xattrs: [["system.posix_acl_default", aclBytes(defaultAcl)]] });
      tar.add({ ...file, type: "symlink", path: enc("link"), linkPath: enc("text"), acls: { default: defaultAcl } });
      tar.add({ ...file, type: "directory", mode: 0o750, path: enc("dir"), acls: { default: defaultAcl } });
      tar.finish();
      Deno.writeFileSync(`${base}/layer.tar`, concat(chunks));
      const root = `${base}/root`;
      const warnings = applyLayer(`${base}/layer.tar`, root);
      // One for each of text, binary and link.
      assert.deepEqual(
        warnings,
        Array(3).fill("xattr system.posix_acl_default skipped: a default ACL applies to directories only"),
      );
      assert.equal(Deno.readTextFileSync(`${root}/text`), "t\n");
      assert.equal(facl(`${root}/binary`), "user::rw-,group::r--,other::--- mode 640");
      assert.equal(Deno.readLinkSync(`${root}/link`), "text");
      assert.match(facl(`${root}/dir`), /default:user::rwx,default:group::r-x,default:other::--- mode 750$/);
    } finally {
      Deno.removeSync(base, { recursive: true });
    }
  },
);

function aclBytes(text: string): Uint8Array {
  const value = aclTextToXattr(text);
  if (typeof value === "string") throw new Error(value);
  return value;
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
