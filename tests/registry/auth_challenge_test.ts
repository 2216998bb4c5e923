import assert from "node:assert/strict";
import { parseAuthChallenges } from "../../core/registry/auth_challenge.ts";

Deno.test("parseAuthChallenges() reads a registry's Bearer challenge with commas inside quotes", () => {
  assert.deepEqual(
    parseAuthChallenges(
      'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:a/b:pull,push"',
    ),
    [{
      scheme: "bearer",
      params: {
        realm: "https://auth.docker.io/token",
        service: "registry.docker.io",
        scope: "repository:a/b:pull,push",
      },
    }],
  );
});

Deno.test("parseAuthChallenges() reads several challenges, tokens, escapes and odd spacing (RFC 7235)", () => {
  assert.deepEqual(
    parseAuthChallenges(
      'Basic realm="Registry \\"R\\"" , charset=UTF-8, Bearer realm = "https://t/x" ,error=invalid_token',
    ),
    [
      { scheme: "basic", params: { realm: 'Registry "R"', charset: "UTF-8" } },
      { scheme: "bearer", params: { realm: "https://t/x", error: "invalid_token" } },
    ],
  );
  assert.deepEqual(parseAuthChallenges("Negotiate, BASIC realm=x"), [
    { scheme: "negotiate", params: {} },
    { scheme: "basic", params: { realm: "x" } },
  ]);
});

Deno.test("parseAuthChallenges() skips what it cannot read and always ends", () => {
  assert.deepEqual(parseAuthChallenges(""), []);
  assert.deepEqual(parseAuthChallenges('Bearer realm="unterminated'), [
    { scheme: "bearer", params: { realm: "unterminated" } },
  ]);
  assert.deepEqual(parseAuthChallenges("Basic dXNlcjpwYXNz=="), [
    { scheme: "basic", params: {} },
  ]);
  assert.deepEqual(parseAuthChallenges("/// ,,, @@"), []);
});
