import assert from "node:assert/strict";
import { definePlugin, type Plugin, PluginRunner } from "../../core/plugin.ts";
import { Oci2LxcError } from "../../core/errors.ts";

type Ctx = { log: string[]; debian: boolean };

Deno.test("definePlugin() rejects an unknown key, so a misspelt hook is caught", () => {
  assert.throws(() => definePlugin({ name: "typo", rootFs() {} } as unknown as Plugin), (err) => {
    assert(err instanceof Oci2LxcError);
    assert(err.message.includes('Cannot use plugin "typo": unknown key "rootFs"'), err.message);
    assert.equal(err.code, "plugin");
    return true;
  });
});

Deno.test("definePlugin() rejects a bad name, a bad order and a hook that is not a function", () => {
  assert.throws(
    () => definePlugin({ name: "Bad Name" }),
    (err) => err instanceof Oci2LxcError && err.message.includes("name must be kebab-case"),
  );
  assert.throws(
    () => definePlugin({ name: "x", order: "early" as "pre" }),
    (err) => err instanceof Oci2LxcError && err.message.includes('order must be "pre" or "post"'),
  );
  assert.throws(
    () => definePlugin({ name: "x", plan: 3 as unknown as () => void }),
    (err) => err instanceof Oci2LxcError && err.message.includes("plan must be a function"),
  );
});

Deno.test("PluginRunner runs pre, then normal in registration order, then post", async () => {
  const mk = (name: string, order?: "pre" | "post"): Plugin<Ctx> => ({
    name,
    ...(order ? { order } : {}),
    plan: (c) => void c.log.push(name),
  });
  const runner = new PluginRunner<Ctx>([mk("b"), mk("z", "post"), mk("a"), mk("p", "pre")]);
  const ctx = { log: [], debian: false };
  const ran = await runner.sequential("plan", ctx);
  assert.deepEqual(ctx.log, ["p", "b", "a", "z"]);
  assert.deepEqual(ran, ["p", "b", "a", "z"]);
});

Deno.test("PluginRunner skips plugins whose apply() says no", async () => {
  const ctx: Ctx = { log: [], debian: false };
  const runner = new PluginRunner<Ctx>([
    { name: "only-debian", apply: (c) => c.debian, rootfs: (c) => void c.log.push("debian") },
    { name: "always", rootfs: (c) => void c.log.push("always") },
  ]);
  await runner.sequential("rootfs", ctx);
  assert.deepEqual(ctx.log, ["always"]);
  ctx.debian = true;
  await runner.sequential("rootfs", ctx);
  assert.deepEqual(ctx.log, ["always", "debian", "always"]);
});

Deno.test("PluginRunner.first() returns the first defined answer and names its plugin", async () => {
  const runner = new PluginRunner<Ctx>([
    { name: "none", detectDistro: () => undefined },
    { name: "alpine", detectDistro: () => ({ id: "alpine" }) },
    { name: "never", detectDistro: () => ({ id: "never" }) },
  ]);
  assert.deepEqual(await runner.first("detectDistro", { log: [], debian: false }), {
    plugin: "alpine",
    value: { id: "alpine" },
  });
});

Deno.test("a hook's error is wrapped with the plugin's and the hook's name, cause kept", async () => {
  const boom = new Error("disk on fire");
  const runner = new PluginRunner<Ctx>([{ name: "fragile", config: () => Promise.reject(boom) }]);
  await assert.rejects(() => runner.sequential("config", { log: [], debian: false }), (err) => {
    assert(err instanceof Oci2LxcError);
    assert(err.message.includes('Cannot run plugin "fragile" (config hook): disk on fire'), err.message);
    assert.equal(err.cause, boom);
    return true;
  });
});

Deno.test("parallel hooks all run, and a failure is still reported", async () => {
  const ctx: Ctx = { log: [], debian: false };
  const runner = new PluginRunner<Ctx>([
    { name: "one", report: (c) => void c.log.push("one") },
    {
      name: "bad",
      report: () => {
        throw new Error("nope");
      },
    },
    { name: "two", report: (c) => void c.log.push("two") },
  ]);
  await assert.rejects(
    () => runner.parallel("report", ctx),
    (err) => err instanceof Oci2LxcError && err.message.includes('Cannot run plugin "bad" (report hook): nope'),
  );
  assert.deepEqual(ctx.log.sort(), ["one", "two"]);
});

Deno.test("PluginRunner refuses the same plugin name twice", () => {
  assert.throws(
    () => new PluginRunner([{ name: "x" }, { name: "x" }]),
    (err) => err instanceof Oci2LxcError && err.message.includes('Cannot use plugin "x" twice'),
  );
});
