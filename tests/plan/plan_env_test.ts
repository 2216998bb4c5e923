import assert from "node:assert/strict";
import { Oci2LxcError } from "../../core/errors.ts";
import { checkEnvOption, planEnv } from "../../core/plan/plan_env.ts";

const SOURCES = { hostname: "ct", home: "/root" };

Deno.test("planEnv refuses the caller's --env without a name, and only warns about the image's", () => {
  for (const entry of ["", "=x"]) {
    assert.throws(
      () => planEnv({}, { ...SOURCES, env: [entry] }, () => {}),
      (err: unknown) =>
        err instanceof Oci2LxcError && err.code === "usage" &&
        err.message === `Cannot use --env[0] ${JSON.stringify(entry)}: the variable name is empty`,
    );
    const warnings: string[] = [];
    planEnv({ Env: [entry] }, SOURCES, (w) => warnings.push(w));
    assert.equal(warnings.length, 1);
  }
});

Deno.test("checkEnvOption passes NAME=VALUE, NAME= and a bare NAME", () => {
  for (const entry of ["A=1", "A=", "A", "A==b"]) checkEnvOption(entry, "--env");
});

Deno.test("planEnv lets --env replace or remove an image Env entry LXC cannot take, and names the entry when it stays", () => {
  // The error's hint says "fix the image or override that field": overriding has to work.
  const image = { Env: ["PATH=/bin", "A=x\u001by"] };
  assert.deepEqual(planEnv(image, { ...SOURCES, env: ["A=b"] }, () => {}).env.find(([n]) => n === "A"), ["A", "b"]);
  assert.equal(planEnv(image, { ...SOURCES, env: ["A"] }, () => {}).env.find(([n]) => n === "A"), undefined);
  assert.throws(
    () => planEnv(image, SOURCES, () => {}),
    (err: unknown) =>
      err instanceof Oci2LxcError && err.code === "config" &&
      err.message === "Cannot use Env[1] of the image config: it contains an escape character (0x1B)",
  );
});
