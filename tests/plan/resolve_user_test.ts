import assert from "node:assert/strict";
import { Oci2LxcError } from "../../core/errors.ts";
import { parseGroup, parsePasswd, resolveUser } from "../../core/plan/resolve_user.ts";

Deno.test("parsePasswd skips comments, NIS lines and lines with bad ids, and keeps the first of duplicates in order", () => {
  const entries = parsePasswd(
    "# comment\n+::::::\nroot:x:0:0:root:/root:/bin/sh\r\nbad:x:abc:0::/:/bin/sh\nroot:x:5:5::/other:/bin/sh\n",
  );
  assert.deepEqual(entries, [
    { name: "root", uid: 0, gid: 0, home: "/root" },
    { name: "root", uid: 5, gid: 5, home: "/other" },
  ]);
  assert.equal(
    resolveUser("root", { passwd: entries, group: [], what: "User" }).uid,
    0,
  );
});

Deno.test("parseGroup reads member lists", () => {
  assert.deepEqual(parseGroup("wheel:x:10:a, b,,c\nempty:x:11:\nbad:x:z:a\n"), [
    { name: "wheel", gid: 10, members: ["a", "b", "c"] },
    { name: "empty", gid: 11, members: [] },
  ]);
});

Deno.test("resolveUser gives root for an empty spec, with root's passwd entry and groups", () => {
  const passwd = parsePasswd("root:x:0:0:root:/root:/bin/sh\n");
  const group = parseGroup("wheel:x:10:root\n");
  assert.deepEqual(resolveUser("", { passwd, group, what: "User" }), {
    uid: 0,
    gid: 0,
    groups: [10],
    name: "root",
    home: "/root",
  });
  assert.deepEqual(
    resolveUser("", { passwd: undefined, group: undefined, what: "User" }),
    {
      uid: 0,
      gid: 0,
      groups: [],
      name: undefined,
      home: "/",
    },
  );
});

Deno.test("resolveUser reports a bad spec with the caller's error code", () => {
  assert.throws(
    () =>
      resolveUser("a:b:c", {
        passwd: [],
        group: [],
        what: "--user",
        code: "usage",
      }),
    (e: unknown) =>
      e instanceof Oci2LxcError && e.code === "usage" &&
      e.message ===
        'Cannot use --user "a:b:c": expected user, uid, user:group or uid:gid',
  );
});
