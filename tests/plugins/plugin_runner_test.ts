import { definePlugin, type Plugin, PluginRunner } from "../../core/plugin.ts";
import { Oci2LxcError } from "../../core/errors.ts";
import { assertEquals, assertRejects, assertThrows } from "../_helpers/assert.ts";

type Ctx = { log: string[]; debian: boolean };

Deno.test("definePlugin() rejects an unknown key, so a misspelt hook is caught", () => {
  const err = assertThrows(
    () => definePlugin({ name: "typo", rootFs() {} } as unknown as Plugin),
    Oci2LxcError,
    'Cannot use plugin "typo": unknown key "rootFs"',
  );
  assertEquals((err as Oci2LxcError).code, "plugin");
});

Deno.test("definePlugin() rejects a bad name, a bad order and a hook that is not a function", () => {
  assertThrows(() => definePlugin({ name: "Bad Name" }), Oci2LxcError, "name must be kebab-case");
  assertThrows(
    () => definePlugin({ name: "x", order: "early" as "pre" }),
    Oci2LxcError,
    'order must be "pre" or "post"',
  );
  assertThrows(
    () => definePlugin({ name: "x", plan: 3 as unknown as () => void }),
    Oci2LxcError,
    "plan must be a function",
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
  assertEquals(ctx.log, ["p", "b", "a", "z"]);
  assertEquals(ran, ["p", "b", "a", "z"]);
});

Deno.test("PluginRunner skips plugins whose apply() says no", async () => {
  const ctx: Ctx = { log: [], debian: false };
  const runner = new PluginRunner<Ctx>([
    { name: "only-debian", apply: (c) => c.debian, rootfs: (c) => void c.log.push("debian") },
    { name: "always", rootfs: (c) => void c.log.push("always") },
  ]);
  await runner.sequential("rootfs", ctx);
  assertEquals(ctx.log, ["always"]);
  ctx.debian = true;
  await runner.sequential("rootfs", ctx);
  assertEquals(ctx.log, ["always", "debian", "always"]);
});

Deno.test("PluginRunner.first() returns the first defined answer and names its plugin", async () => {
  const runner = new PluginRunner<Ctx>([
    { name: "none", detectDistro: () => undefined },
    { name: "alpine", detectDistro: () => ({ id: "alpine" }) },
    { name: "never", detectDistro: () => ({ id: "never" }) },
  ]);
  assertEquals(await runner.first("detectDistro", { log: [], debian: false }), {
    plugin: "alpine",
    value: { id: "alpine" },
  });
});

Deno.test("a hook's error is wrapped with the plugin's and the hook's name, cause kept", async () => {
  const boom = new Error("disk on fire");
  const runner = new PluginRunner<Ctx>([{ name: "fragile", config: () => Promise.reject(boom) }]);
  const err = await assertRejects(
    () => runner.sequential("config", { log: [], debian: false }),
    Oci2LxcError,
    'Cannot run plugin "fragile" (config hook): disk on fire',
  );
  assertEquals(err.cause, boom);
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
  await assertRejects(
    () => runner.parallel("report", ctx),
    Oci2LxcError,
    'Cannot run plugin "bad" (report hook): nope',
  );
  assertEquals(ctx.log.sort(), ["one", "two"]);
});

Deno.test("PluginRunner refuses the same plugin name twice", () => {
  assertThrows(() => new PluginRunner([{ name: "x" }, { name: "x" }]), Oci2LxcError, 'Cannot use plugin "x" twice');
});
