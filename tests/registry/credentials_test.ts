import assert from "node:assert/strict";
import { inspect } from "node:util";
import { Oci2LxcError } from "../../core/errors.ts";
import { Credentials, parseCreds } from "../../core/registry/credentials.ts";

const SECRET = "s3cr3t-Value";

Deno.test("Credentials never show the secret: String, template, JSON, Deno.inspect, util.inspect, console.log", () => {
  const c = new Credentials("alice", SECRET, "--creds");
  const nested = { registry: "quay.io", credentials: c, list: [c] };
  const shown = [
    String(c),
    `${c}`,
    JSON.stringify(c),
    JSON.stringify(nested),
    Deno.inspect(c),
    Deno.inspect(nested, { depth: 10, showHidden: true }),
    inspect(c),
    inspect(nested, { depth: 10, showHidden: true }),
    new Oci2LxcError("registry", `Cannot log in with ${c}`).message,
  ];
  const logged: string[] = [];
  const original = console.log;
  console.log = (...args: unknown[]) => logged.push(Deno.inspect(args, { depth: 10 }));
  try {
    console.log(c, nested);
  } finally {
    console.log = original;
  }
  for (const text of [...shown, ...logged]) {
    assert.ok(!text.includes(SECRET), text);
    assert.ok(text.includes("<redacted>"), text);
    assert.ok(text.includes("alice"), text);
  }
  assert.equal(c.revealSecret(), SECRET);
  assert.equal(c.basicAuthorization(), `Basic ${btoa(`alice:${SECRET}`)}`);
});

Deno.test("parseCreds() splits USER:PASSWORD at the first colon and takes --password-stdin's value otherwise", () => {
  assert.equal(parseCreds("alice:pa:ss").username, "alice");
  assert.equal(parseCreds("alice:pa:ss").revealSecret(), "pa:ss");
  assert.equal(parseCreds("alice:").revealSecret(), "");
  assert.equal(parseCreds("alice", "stdin-pass").revealSecret(), "stdin-pass");
  assert.equal(parseCreds("alice:given", "stdin-pass").revealSecret(), "given");
  assert.equal(parseCreds("alice", "x").source, "--creds");
});

Deno.test("parseCreds() refuses an empty user or a missing password as usage errors, without echoing a secret", () => {
  for (const [text, reason] of [[":pw-secret", /user name is empty/], ["alice", /no password given/]] as const) {
    assert.throws(() => parseCreds(text), (err: unknown) => {
      assert.ok(err instanceof Oci2LxcError && err.code === "usage");
      assert.match(err.message, reason);
      assert.ok(!err.message.includes("pw-secret"));
      return true;
    });
  }
});
