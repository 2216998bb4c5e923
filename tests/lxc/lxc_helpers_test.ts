import assert from "node:assert/strict";
import { lxcArchFor } from "../../core/lxc/lxc_arch.ts";
import { initCmdSplitterFor, parseLxcVersion } from "../../core/lxc/lxc_version.ts";
import { escapeMountField, mountEntry } from "../../core/lxc/mount_entry.ts";
import { shellLauncherScript } from "../../core/lxc/shell_launcher.ts";

Deno.test("parseLxcVersion reads lxc-start --version output and initCmdSplitterFor picks the splitter", () => {
  assert.deepEqual(parseLxcVersion("5.0.2\n"), {
    major: 5,
    minor: 0,
    patch: 2,
  });
  assert.deepEqual(parseLxcVersion("6.0.0~git2+abc"), {
    major: 6,
    minor: 0,
    patch: 0,
  });
  assert.equal(parseLxcVersion("lxc"), undefined);
  // LXC 5 alone would take a tab or a leading quote as it is; LXC 6 would not, so a config for 5 must not either.
  assert.equal(initCmdSplitterFor(parseLxcVersion("5.0.2")), "portable");
  assert.equal(initCmdSplitterFor(parseLxcVersion("4.0.12")), "portable");
  assert.equal(initCmdSplitterFor(parseLxcVersion("6.0.4")), "quoted");
  assert.equal(initCmdSplitterFor(parseLxcVersion("7.0.0")), "quoted");
  assert.equal(initCmdSplitterFor(undefined), "portable");
});

Deno.test("lxcArchFor uses names LXC 5.0.2 accepts", () => {
  const table: [string, string | undefined, string | undefined][] = [
    ["amd64", undefined, "amd64"],
    ["arm64", "v8", "arm64"],
    ["arm", "v7", "armhf"],
    ["arm", undefined, "armhf"],
    ["arm", "v5", "armel"],
    ["386", undefined, "i386"],
    ["ppc64le", undefined, "ppc64el"],
    ["s390x", undefined, "s390x"],
    ["riscv64", undefined, "riscv64"],
    ["mips64le", undefined, "mips64el"],
    ["loong64", undefined, undefined],
    ["wasm", undefined, undefined],
  ];
  for (const [architecture, variant, want] of table) {
    assert.equal(
      lxcArchFor({ os: "linux", architecture, variant }),
      want,
      `${architecture}/${variant}`,
    );
  }
});

Deno.test("mountEntry escapes blanks and backslashes and makes the target relative", () => {
  assert.equal(escapeMountField("a b\tc\\d"), "a\\040b\\011c\\134d");
  assert.equal(
    mountEntry("tmpfs", "/dev/shm", "tmpfs", "rw"),
    "tmpfs dev/shm tmpfs rw 0 0",
  );
  assert.throws(() => mountEntry("/x", "/", "none", "bind"), TypeError);
});

Deno.test("shellLauncherScript has no blanks and quotes every argument for sh", () => {
  assert.equal(
    shellLauncherScript(["/app", "it's", ""]),
    "exec${IFS}'/app'${IFS}'it'\\''s'${IFS}''",
  );
  assert.equal(shellLauncherScript(["-x"]), undefined);
  assert.equal(shellLauncherScript([]), undefined);
  assert.ok(!/[ \t]/.test(shellLauncherScript(["a b", "c  d", "tab\there"])!));
});

Deno.test("environmentKeyFor() picks lxc.environment.runtime from LXC 7.0.0 on (confile.c), lxc.environment before", async () => {
  const { environmentKeyFor, parseLxcVersion } = await import("../../core/lxc/lxc_version.ts");
  const key = (v: string) => environmentKeyFor(parseLxcVersion(v));
  assert.equal(key("5.0.2"), "lxc.environment");
  assert.equal(key("6.0.4"), "lxc.environment");
  // Not in upstream's v6.0.5 or v6.0.6 tags; LXC 5.0.2 and 6.0.4 refuse the key.
  assert.equal(key("6.0.5"), "lxc.environment");
  assert.equal(key("6.0.6"), "lxc.environment");
  assert.equal(key("6.1.0"), "lxc.environment");
  assert.equal(key("7.0.0"), "lxc.environment.runtime");
  assert.equal(environmentKeyFor(undefined), "lxc.environment");
});
