import assert from "node:assert/strict";
import { tempRootfs } from "./_rootfs.ts";

const text = (b: Uint8Array | undefined) => b === undefined ? undefined : new TextDecoder().decode(b);

Deno.test("directoryRootfsReader reads a file and follows relative links inside the root", () => {
  using root = tempRootfs({
    "/etc/real/passwd": "p",
    "/etc/passwd": { link: "real/passwd" },
  });
  assert.equal(text(root.reader.readFile("/etc/passwd")), "p");
  assert.equal(root.reader.realPath!("/etc/passwd"), "/etc/real/passwd");
});

Deno.test("directoryRootfsReader re-roots absolute link targets at the root", () => {
  using root = tempRootfs({
    "/data/passwd": "inside",
    "/etc": { link: "/data" },
  });
  assert.equal(text(root.reader.readFile("/etc/passwd")), "inside");
});

Deno.test("directoryRootfsReader never leaves the root through absolute links or ..", () => {
  // The host has /etc/passwd; the rootfs does not, so every escape must come back empty.
  using root = tempRootfs({
    "/abs": { link: "/etc/passwd" },
    "/up": { link: "../../../../../../../etc/passwd" },
    "/dir/up2": { link: "../../../etc" },
  });
  assert.equal(root.reader.readFile("/abs"), undefined);
  assert.equal(root.reader.readFile("/up"), undefined);
  assert.equal(root.reader.readFile("/dir/up2/passwd"), undefined);
  assert.equal(root.reader.readFile("/../../etc/passwd"), undefined);
  assert.equal(root.reader.exists("/up"), false);
  assert.equal(root.reader.realPath!("/dir/up2"), undefined);
});

Deno.test("directoryRootfsReader clamps .. at the root to find files inside it", () => {
  using root = tempRootfs({
    "/etc/group": "g",
    "/x/link": { link: "../../../etc/group" },
  });
  assert.equal(text(root.reader.readFile("/x/link")), "g");
  assert.equal(root.reader.realPath!("/x/link"), "/etc/group");
});

Deno.test("directoryRootfsReader gives up on symlink loops", () => {
  using root = tempRootfs({
    "/a": { link: "b" },
    "/b": { link: "a" },
    "/self": { link: "/self" },
  });
  assert.equal(root.reader.exists("/a"), false);
  assert.equal(root.reader.readFile("/self"), undefined);
});

Deno.test("directoryRootfsReader tells files, directories and empty directories apart", () => {
  using root = tempRootfs({
    "/run": { dir: true },
    "/var/run": { link: "/run" },
    "/tmp/f": "x",
    "/f": "",
  });
  assert.equal(root.reader.isDirEmpty("/run"), true);
  assert.equal(root.reader.isDirEmpty("/var/run"), true);
  assert.equal(root.reader.isDirEmpty("/tmp"), false);
  assert.equal(root.reader.isDirEmpty("/f"), undefined);
  assert.equal(root.reader.isDirEmpty("/missing"), undefined);
  assert.equal(root.reader.readFile("/tmp"), undefined);
  assert.equal(root.reader.exists("/f/below"), false);
  assert.equal(root.reader.exists("/"), true);
});
