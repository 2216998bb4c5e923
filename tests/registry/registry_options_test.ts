import assert from "node:assert/strict";
import { type Command, parseCommandArgs } from "../../cli/commands.ts";
import { passwordFromStdin, REGISTRY_OPTIONS, registryOptionValues } from "../../cli/registry_options.ts";
import { Oci2LxcError } from "../../core/errors.ts";

const command: Command = {
  name: "pull",
  summary: "",
  usage: "",
  description: "",
  examples: [],
  options: { ...REGISTRY_OPTIONS },
  positionals: [0, 2],
  run: () => 0,
};

const parse = (argv: string[], stdin = "from-stdin\n") =>
  registryOptionValues(parseCommandArgs(command, argv).values, () => Promise.resolve(stdin));

Deno.test("registryOptionValues() takes skopeo's spellings: --creds, --password-stdin, --authfile, --cert-dir, --tls-verify=false", async () => {
  const all = await parse([
    "--creds",
    "alice",
    "--password-stdin",
    "--authfile",
    "/a.json",
    "--cert-dir",
    "/certs",
    "--tls-verify=false",
  ]);
  assert.equal(all.creds?.username, "alice");
  assert.equal(all.creds?.revealSecret(), "from-stdin");
  assert.equal(all.authfile, "/a.json");
  assert.equal(all.certDir, "/certs");
  assert.equal(all.tlsVerify, false);
  assert.equal((await parse(["--creds", "bob:pw"])).creds?.revealSecret(), "pw");
  assert.equal((await parse(["--tls-verify=true"])).tlsVerify, true);
  assert.deepEqual(await parse([]), {});
  assert.equal(passwordFromStdin("a\r\n"), "a");
  assert.equal(passwordFromStdin("a\n\n"), "a\n");
});

Deno.test("registryOptionValues() refuses contradictions as usage errors without reading stdin for nothing", async () => {
  const cases: [string[], RegExp][] = [
    [["--password-stdin"], /--password-stdin without --creds USER/],
    [["--creds", "alice:pw", "--password-stdin"], /--password-stdin with a password in --creds/],
    [["--creds", "alice"], /no password given/],
    [["--creds", ":pw"], /user name is empty/],
    [["--tls-verify=maybe"], /--tls-verify "maybe": give true or false/],
  ];
  for (const [argv, reason] of cases) {
    let read = false;
    await assert.rejects(
      registryOptionValues(parseCommandArgs(command, argv).values, () => {
        read = true;
        return Promise.resolve("x");
      }),
      (err: unknown) => err instanceof Oci2LxcError && err.code === "usage" && reason.test(err.message),
      argv.join(" "),
    );
    assert.equal(read, false, argv.join(" "));
  }
});
