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
