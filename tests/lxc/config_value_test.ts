import assert from "node:assert/strict";
import {
  checkConfigValue,
  encodeConfigValue,
  findForbiddenChar,
  sanitiseComment,
} from "../../core/lxc/config_value.ts";
import { LxcConfigWriter } from "../../core/lxc/lxc_config_writer.ts";
import { Oci2LxcError } from "../../core/errors.ts";
import { parseLxcConfig } from "./_parse_lxc_config.ts";

Deno.test("findForbiddenChar finds every C0 control character and DEL, and allows tabs only when asked", () => {
  for (let c = 0; c < 0x20; c++) {
    const found = findForbiddenChar(`a${String.fromCharCode(c)}b`);
    assert.equal(found === undefined, c === 0x09, `0x${c.toString(16)}`);
  }
  assert.equal(findForbiddenChar("a\tb", false), "a tab");
  assert.equal(findForbiddenChar("\x7f"), "a delete character (0x7F)");
  assert.equal(findForbiddenChar("\x01"), "the control character 0x01");
  assert.equal(
    findForbiddenChar("é ✓ 日本 \u{1F600} \u0085 \u2028"),
    undefined,
  );
  assert.match(findForbiddenChar("\udc00")!, /surrogate/);
});

Deno.test("checkConfigValue names the source and the character", () => {
  assert.throws(
    () => checkConfigValue("x\r\n", "WorkingDir of the image config"),
    (e: unknown) =>
      e instanceof Oci2LxcError && e.code === "config" &&
      e.message ===
        "Cannot use WorkingDir of the image config: it contains a carriage return",
  );
  assert.throws(
    () => checkConfigValue("\n", "--env[0]", "usage"),
    (e: unknown) => e instanceof Oci2LxcError && e.code === "usage",
  );
});

Deno.test("encodeConfigValue round-trips through LXC's trimming and quote stripping", () => {
  const values = [
    "plain",
    " lead",
    "trail ",
    "\ttab",
    "tab\t",
    "'q'",
    '"q"',
    "'",
    '"',
    '""',
    "''",
    "'a\"",
    "a'",
    "",
    " ",
    "= x =",
    "#x",
  ];
  for (const v of values) {
    const w = new LxcConfigWriter();
    w.entry("lxc.environment", v);
    assert.deepEqual(
      parseLxcConfig(w.toString()),
      [["lxc.environment", v]],
      JSON.stringify(v),
    );
  }
  assert.equal(encodeConfigValue("'a\""), "'a\"");
});

Deno.test("sanitiseComment keeps a comment on one line and valid pairs intact", () => {
  assert.equal(sanitiseComment("a\nb\rc\x00\x7f"), "a\\x0Ab\\x0Dc\\x00\\x7F");
  assert.equal(sanitiseComment("\u{1F600}\ud800x"), "\u{1F600}\\u{D800}x");
});

Deno.test("LxcConfigWriter refuses keys that are not lxc.* keys", () => {
  const w = new LxcConfigWriter();
  for (const key of ["lxc.x\nlxc.y", "foo", "lxc.", "lxc.a = b", "lxc..a"]) {
    assert.throws(() => w.entry(key, "v"), TypeError, key);
  }
  w.entry("lxc.sysctl.net.ipv4.ip_unprivileged_port_start", 0);
  w.comment("x\ny");
  w.entry("lxc.init.groups", "");
  assert.equal(
    w.toString(),
    "lxc.sysctl.net.ipv4.ip_unprivileged_port_start = 0\n# x\\x0Ay\nlxc.init.groups =\n",
  );
});
