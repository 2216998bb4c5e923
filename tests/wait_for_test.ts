import assert from "node:assert/strict";
import { waitFor } from "./_helpers/wait_for.ts";

Deno.test("waitFor returns the first value that is not undefined or false, polling until then", async () => {
  let calls = 0;
  const value = await waitFor(
    "the third call",
    10_000,
    () => ++calls === 3 ? "third" : calls === 2 ? false : undefined,
    {
      everyMs: 1,
    },
  );
  assert.deepEqual([value, calls], ["third", 3]);
});

Deno.test("waitFor awaits an async check and keeps 0 and the empty string as values", async () => {
  assert.deepEqual(await waitFor("zero", 1_000, () => Promise.resolve(0)), 0);
  assert.deepEqual(await waitFor("an empty string", 1_000, () => ""), "");
});

Deno.test("waitFor checks at least once, also with no time left, then throws naming what it waited for", async () => {
  let calls = 0;
  await assert.rejects(
    () => waitFor("a thing that never comes", 0, () => (calls++, undefined)),
    (err) => err instanceof Error && err.message.includes("Timed out after 0 ms waiting for a thing that never comes"),
  );
  assert.deepEqual(calls >= 1, true, `checked ${calls} times`);
});
