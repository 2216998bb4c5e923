/**
 * Rendered configs, run with the real LXC: the container's process must see
 * exactly the plan's argv, uid, gid, groups, cwd and environment, and stop
 * the way the config promises.
 */
import assert from "node:assert/strict";
import type { ImageRuntimeConfig } from "../../core/image/image.ts";
import { type LxcConfigOptions, renderLxcConfig } from "../../core/lxc/lxc_config.ts";
import type { ContainerPlan } from "../../core/plan/container_plan.ts";
import { makePlan, type PlanOptions } from "../../core/plan/make_plan.ts";
import { directoryRootfsReader } from "../../core/plan/rootfs_reader.ts";
import { LxcSandbox, requireLxc, SKIP_LXC, uniqueName } from "./_real_lxc.ts";
import { systemTest } from "../_helpers/tier.ts";
import { waitFor } from "../_helpers/wait_for.ts";

const PASSWD = "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:App:/home/app:/bin/sh\n";
const GROUP = "root:x:0:\napp:x:1000:\nwww:x:33:app\naudio:x:29:app\n";

/** Plan `rc` against the sandbox's rootfs, create the plan's directories, write the config. */
function prepare(
  box: LxcSandbox,
  rc: ImageRuntimeConfig,
  options: Partial<PlanOptions> = {},
  render: Partial<LxcConfigOptions> = {},
): ContainerPlan {
  Deno.writeTextFileSync(`${box.rootfs}/etc/passwd`, PASSWD);
  Deno.writeTextFileSync(`${box.rootfs}/etc/group`, GROUP);
  const plan = makePlan(
    { config: rc },
    { os: "linux", architecture: "amd64" },
    directoryRootfsReader(box.rootfs),
    {
      name: box.name,
      ...options,
    },
  );
  // The assembler's job, done here by hand.
  for (const d of plan.directories) {
    Deno.mkdirSync(box.rootfs + d.path, { recursive: true, mode: d.mode });
  }
  const text = renderLxcConfig(plan, {
    rootfsPath: box.rootfs,
    lxcVersion: "5.0.2",
    ...render,
  });
  box.writeConfig(text + box.harnessLines);
  return plan;
}

function expectedEnv(plan: ContainerPlan): string[] {
  return [...plan.env.map(([k, v]) => `${k}=${v}`), "container=lxc"].sort();
}

systemTest({
  name: "renderLxcConfig runs an app through init.lxc with the plan's argv, ids, cwd and environment",
  ignore: SKIP_LXC,
  async fn() {
    requireLxc();
    await using box = new LxcSandbox(uniqueName("r"));
    const plan = prepare(box, {
      Entrypoint: ["/print"],
      Cmd: ["it's", "$HOME", "a=b", "\\x"],
      User: "app",
      WorkingDir: "/srv/app",
      StopSignal: "QUIT",
      Env: [
        "TRAIL=x  ",
        "QUOTED='q'",
        "TAB=a\tb",
        "EMPTY=",
        "EQ=a=b=c",
        "HASH=#x",
      ],
    });
    const r = await box.run();
    assert.deepEqual(r.args, ["it's", "$HOME", "a=b", "\\x"], r.log);
    // The kernel keeps supplementary groups sorted.
    assert.deepEqual(r.ids, ["1000", "1000", "1000 29 33", "/srv/app"]);
    assert.deepEqual(plan.user.groups, [33, 29]);
    assert.deepEqual(r.env?.slice().sort(), expectedEnv(plan));
  },
});

systemTest({
  name: "renderLxcConfig on LXC 5 runs a command with spaces and empty arguments through the image's /bin/sh exactly",
  ignore: SKIP_LXC,
  async fn() {
    requireLxc();
    await using box = new LxcSandbox(uniqueName("s"));
    const args = [
      "daemon off;",
      "",
      "it's a 'test'",
      "  two  spaces ",
      "tab\tand space",
      "-",
    ];
    const warnings: string[] = [];
    prepare(
      box,
      { Entrypoint: ["/print"], Cmd: args, StopSignal: "SIGINT" },
      {},
      {
        onWarning: (w) => warnings.push(w),
      },
    );
    const r = await box.run();
    assert.deepEqual(r.args, args, r.log);
    assert.ok(warnings.some((w) => w.includes("/bin/sh execs the command")));
  },
});

systemTest({
  name: "renderLxcConfig runs a system container's init directly as root with its halt signal",
  ignore: SKIP_LXC,
  async fn() {
    requireLxc();
    await using box = new LxcSandbox(uniqueName("y"));
    Deno.symlinkSync("/print", `${box.rootfs}/init`);
    const plan = prepare(box, { Cmd: ["/init", "--flag"] });
    assert.equal(plan.kind, "system");
    const r = await box.run();
    assert.deepEqual(r.args, ["--flag"], r.log);
    assert.deepEqual(r.ids?.slice(0, 2), ["0", "0"]);
  },
});

/** A script that records the signal it gets, takes `seconds` to shut down, then writes "graceful". */
function slowStopper(seconds: number): string {
  return `#!/bin/busybox sh
for s in TERM QUIT INT PWR; do
  trap "echo got-$s >> /out/sig; /bin/busybox sleep ${seconds}; echo graceful >> /out/sig; exit 0" $s
done
echo started >> /out/sig
while :; do /bin/busybox sleep 0.1; done
`;
}

async function stopAndRead(box: LxcSandbox): Promise<string> {
  await box.startDaemon();
  await waitFor("the app to start", 10_000, () => box.readOut("sig")?.includes("started"));
  await box.stopGracefully(15);
  return box.readOut("sig") ?? "";
}

systemTest({
  name: "renderLxcConfig lets an app with StopSignal SIGQUIT shut down through init.lxc",
  ignore: SKIP_LXC,
  async fn() {
    requireLxc();
    await using box = new LxcSandbox(uniqueName("q"));
    box.writeScript("/app", slowStopper(2));
    prepare(box, { Cmd: ["/app"], StopSignal: "SIGQUIT" });
    assert.equal(await stopAndRead(box), "started\ngot-QUIT\ngraceful\n");
  },
});

systemTest({
  name: "renderLxcConfig runs a SIGTERM app as PID 1 so it gets the whole stop timeout",
  ignore: SKIP_LXC,
  async fn() {
    requireLxc();
    await using box = new LxcSandbox(uniqueName("t"));
    box.writeScript("/app", slowStopper(2));
    prepare(box, { Cmd: ["/app"] });
    assert.equal(await stopAndRead(box), "started\ngot-TERM\ngraceful\n");
  },
});

systemTest({
  name: "init.lxc kills a SIGTERM app after 1 s, which is why SIGTERM apps do not run under it",
  ignore: SKIP_LXC,
  async fn() {
    requireLxc();
    await using box = new LxcSandbox(uniqueName("k"));
    box.writeScript("/app", slowStopper(3));
    prepare(box, { Cmd: ["/app"] }, {}, { pid1: "lxc-init" });
    assert.equal(await stopAndRead(box), "started\ngot-TERM\n");
  },
});
