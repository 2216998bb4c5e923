import assert from "node:assert/strict";
import { Oci2LxcError } from "../../core/errors.ts";
import type { ImageRuntimeConfig } from "../../core/image/image.ts";
import type { Platform } from "../../core/image/platform.ts";
import { type LxcConfigOptions, renderLxcConfig } from "../../core/lxc/lxc_config.ts";
import { splitInitCmdLikeLxc } from "../../core/lxc/quote_init_cmd.ts";
import type { ContainerPlan } from "../../core/plan/container_plan.ts";
import { makePlan, type PlanOptions } from "../../core/plan/make_plan.ts";
import { type RootfsSpec, tempRootfs } from "../plan/_rootfs.ts";
import { entryLines, parseLxcConfig } from "./_parse_lxc_config.ts";

const ROOTFS = "/var/lib/lxc/web/rootfs";
const GOLDEN = new URL("./golden/", import.meta.url);
const AMD64: Platform = { os: "linux", architecture: "amd64" };
const IMAGE_ROOTFS: RootfsSpec = {
  "/etc/passwd": "root:x:0:0:root:/root:/bin/sh\nnginx:x:101:101:nginx:/nonexistent:/bin/false\n",
  "/etc/group": "root:x:0:\nnginx:x:101:\nwww-data:x:33:nginx\n",
  "/bin/sh": { link: "dash" },
  "/bin/dash": "ELF",
  "/run": { dir: true },
  "/usr/share/nginx/html/index.html": "hi",
};
const NGINX: ImageRuntimeConfig = {
  Entrypoint: ["/docker-entrypoint.sh"],
  Cmd: ["nginx", "-g", "daemon off;"],
  Env: [
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "NGINX_VERSION=1.27.0",
  ],
  ExposedPorts: { "80/tcp": {} },
  Labels: { maintainer: "NGINX Docker Maintainers" },
  StopSignal: "SIGQUIT",
  WorkingDir: "/usr/share/nginx/html",
  User: "nginx",
  Volumes: { "/var/cache/nginx": {} },
  ArgsEscaped: true,
};

function planFor(
  rc: ImageRuntimeConfig,
  spec: RootfsSpec = IMAGE_ROOTFS,
  options: Partial<PlanOptions> = {},
  platform: Platform = AMD64,
): ContainerPlan {
  using root = tempRootfs(spec);
  return makePlan({ config: rc }, platform, root.reader, {
    name: "web",
    ...options,
  });
}

/** Render with a fixed view of the host: everything exists. */
function render(
  plan: ContainerPlan,
  options: Partial<LxcConfigOptions> = {},
): string {
  return renderLxcConfig(plan, {
    rootfsPath: ROOTFS,
    lxcVersion: "5.0.2",
    fileExists: () => true,
    ...options,
  });
}

function checkGolden(name: string, text: string): void {
  const url = new URL(name, GOLDEN);
  if (Deno.env.get("UPDATE_GOLDEN") === "1") Deno.writeTextFileSync(url, text);
  assert.equal(
    text,
    Deno.readTextFileSync(url),
    `golden ${name} differs; rerun with UPDATE_GOLDEN=1 if the change is intended`,
  );
}

function refuses(
  fn: () => unknown,
  code: string,
  message: string | RegExp,
): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof Oci2LxcError, `expected Oci2LxcError, got ${err}`);
    assert.equal(err.code, code);
    if (typeof message === "string") assert.equal(err.message, message);
    else assert.match(err.message, message);
    return true;
  });
}

// --- golden files -----------------------------------------------------------

Deno.test("renderLxcConfig matches the golden config of an nginx-like app on LXC 5", () => {
  const plan = planFor(NGINX, IMAGE_ROOTFS, {
    volumes: ["/srv/web cache:/var/cache/nginx"],
    env: ["EXTRA=1"],
  });
  checkGolden(
    "app-lxc5.conf",
    render(plan, { header: ["image: nginx:1.27 (sha256:0123abcd)"] }),
  );
});

Deno.test("renderLxcConfig matches the golden config of an id-mapped systemd container", () => {
  const idmap = {
    uid: [{ container: 0, host: 100000, size: 65536 }],
    gid: [{ container: 0, host: 100000, size: 65536 }],
  };
  const plan = planFor({ Cmd: ["/sbin/init"] }, {
    "/sbin/init": { link: "/lib/systemd/systemd" },
    "/lib/systemd/systemd": "ELF",
  }, {
    idmap,
  }, { os: "linux", architecture: "arm64", variant: "v8" });
  checkGolden("system-idmap.conf", render(plan, { lxcVersion: "6.0.4" }));
});

// --- structure --------------------------------------------------------------

Deno.test("renderLxcConfig includes common.conf and userns.conf only when they exist on the host", () => {
  const plan = planFor({ Cmd: ["/app"] }, {}, {
    idmap: {
      uid: [{ container: 0, host: 100000, size: 65536 }],
      gid: [{ container: 0, host: 100000, size: 65536 }],
    },
  });
  const warnings: string[] = [];
  const none = render(plan, {
    fileExists: () => false,
    onWarning: (w) => warnings.push(w),
  });
  assert.equal(
    parseLxcConfig(none).filter(([k]) => k === "lxc.include").length,
    0,
  );
  assert.match(
    none,
    /^# \/usr\/share\/lxc\/config\/common.conf is not on this host, so it is not included$/m,
  );
  assert.deepEqual(warnings, [
    "/usr/share/lxc/config/common.conf is not on this host; the config does not include it",
    "/usr/share/lxc/config/userns.conf is not on this host; the config does not include it",
  ]);
  const all = render(plan, { fileExists: () => true });
  assert.deepEqual(
    parseLxcConfig(all).filter(([k]) => k === "lxc.include").map(([, v]) => v),
    [
      "/usr/share/lxc/config/common.conf",
      "/usr/share/lxc/config/userns.conf",
    ],
  );
  assert.deepEqual(
    parseLxcConfig(render(planFor({ Cmd: ["/app"] }))).filter(([k]) => k === "lxc.include").length,
    1,
  );
});

Deno.test("renderLxcConfig picks PID 1 from the kind and stop signal", () => {
  const cmdOf = (text: string) => parseLxcConfig(text).find(([k]) => k === "lxc.init.cmd")![1];
  assert.equal(
    cmdOf(render(planFor({ Cmd: ["/app"], StopSignal: "SIGINT" }))),
    "/.lxcinit -n web -- /app",
  );
  assert.equal(cmdOf(render(planFor({ Cmd: ["/app"] }))), "/app");
  assert.equal(
    cmdOf(render(planFor({ Cmd: ["/app"], StopSignal: "PWR" }))),
    "/app",
  );
  assert.equal(
    cmdOf(render(planFor({ Cmd: ["/app"] }), { pid1: "lxc-init" })),
    "/.lxcinit -n web -- /app",
  );
  assert.equal(
    cmdOf(
      render(planFor({ Cmd: ["/app"], StopSignal: "QUIT" }), { pid1: "app" }),
    ),
    "/app",
  );
  assert.equal(
    cmdOf(render(planFor({ Cmd: ["/sbin/init"], StopSignal: "QUIT" }))),
    "/sbin/init",
  );
  const text = render(planFor({ Cmd: ["/app"], StopSignal: "SIGINT" }));
  assert.ok(
    parseLxcConfig(text).some(([k, v]) =>
      k === "lxc.mount.entry" &&
      v.startsWith("/usr/sbin/init.lxc.static .lxcinit ")
    ),
  );
  assert.ok(
    !parseLxcConfig(render(planFor({ Cmd: ["/app"] }))).some(([, v]) => v.includes("init.lxc")),
  );
});

Deno.test("renderLxcConfig gives apps /dev/shm, an empty /run and low-port sysctls, and system containers none", () => {
  const app = parseLxcConfig(render(planFor({ Cmd: ["/app"] })));
  const mounts = app.filter(([k]) => k === "lxc.mount.entry").map(([, v]) => v);
  assert.deepEqual(mounts, [
    "tmpfs dev/shm tmpfs rw,nosuid,nodev,noexec,mode=1777,create=dir 0 0",
    "tmpfs run tmpfs rw,nosuid,nodev,mode=755,create=dir 0 0",
  ]);
  assert.ok(
    app.some(([k, v]) => k === "lxc.sysctl.net.ipv4.ip_unprivileged_port_start" && v === "0"),
  );
  assert.ok(
    app.some(([k, v]) => k === "lxc.sysctl.net.ipv4.ping_group_range" && v === "0 2147483647"),
  );
  const full = parseLxcConfig(
    render(planFor({ Cmd: ["/app"] }, { "/run/keep": "" })),
  );
  assert.ok(!full.some(([, v]) => v.startsWith("tmpfs run ")));
  const sys = parseLxcConfig(render(planFor({ Cmd: ["/sbin/init"] })));
  assert.ok(
    !sys.some(([k]) => k === "lxc.mount.entry" || k.startsWith("lxc.sysctl.")),
  );
  const hostNet = parseLxcConfig(
    render(
      planFor({ Cmd: ["/app"] }, {}, { network: [{ type: "none", keys: [] }] }),
    ),
  );
  assert.ok(
    !hostNet.some(([k]) => k.startsWith("lxc.sysctl.")),
    "never change the host's sysctls",
  );
  assert.deepEqual(hostNet.filter(([k]) => k.startsWith("lxc.net.")), [[
    "lxc.net.0.type",
    "none",
  ]]);
});

Deno.test("renderLxcConfig writes bind mounts with fstab escapes", () => {
  const plan = planFor({ Cmd: ["/app"] }, {}, {
    volumes: ["/srv/my data\\x:/data dir:ro"],
  });
  const mounts = parseLxcConfig(render(plan)).filter(([k]) => k === "lxc.mount.entry").map(([, v]) => v);
  assert.ok(
    mounts.includes(
      "/srv/my\\040data\\134x data\\040dir none bind,create=dir,ro 0 0",
    ),
    JSON.stringify(mounts),
  );
});

Deno.test("renderLxcConfig writes the user, groups, cwd, environment and halt signal", () => {
  const plan = planFor({
    Cmd: ["/app"],
    User: "nginx",
    WorkingDir: "/usr",
    Env: ["A= x ", "B='y'"],
    StopSignal: "3",
  });
  const entries = parseLxcConfig(render(plan));
  const get = (key: string) => entries.filter(([k]) => k === key).map(([, v]) => v);
  assert.deepEqual(get("lxc.init.uid"), ["101"]);
  assert.deepEqual(get("lxc.init.gid"), ["101"]);
  assert.deepEqual(get("lxc.init.groups"), ["33"]);
  assert.deepEqual(get("lxc.init.cwd"), ["/usr"]);
  assert.deepEqual(get("lxc.signal.halt"), ["SIGQUIT"]);
  assert.deepEqual(
    get("lxc.environment"),
    plan.env.map(([k, v]) => `${k}=${v}`),
  );
  assert.ok(
    get("lxc.environment").includes("A= x "),
    "blanks at the ends survive the parser",
  );
  assert.deepEqual(get("lxc.init.groups").length, 1);
  assert.deepEqual(
    parseLxcConfig(render(planFor({ Cmd: ["/app"] }))).filter(([k]) => k === "lxc.init.groups"),
    [],
  );
});

Deno.test("renderLxcConfig refuses a command LXC cannot split back, naming the image field", () => {
  const noShell = planFor({
    Entrypoint: ["/ep"],
    Cmd: ["nginx", "-g", "daemon off;"],
  }, {});
  refuses(
    () => render(noShell, { lxcVersion: "5.0.2" }),
    "config",
    'Cannot use Cmd[2] of the image config ("daemon off;") in lxc.init.cmd: it needs quotes, and LXC versions split lxc.init.cmd differently',
  );
  // What LXC 5 alone would take as it is (a tab, a leading quote) is refused for LXC 5 too: LXC 6 splits it otherwise.
  for (const arg of ["a\tb", "'c", '"a']) {
    refuses(
      () => render(planFor({ Cmd: ["/app", arg] }, {}), { lxcVersion: "5.0.2" }),
      "config",
      /it needs quotes, and LXC versions split lxc.init.cmd differently/,
    );
  }
  refuses(
    () => renderLxcConfig(noShell, { rootfsPath: ROOTFS, fileExists: () => true }),
    "config",
    'Cannot use Cmd[2] of the image config ("daemon off;") in lxc.init.cmd: it needs quotes, and LXC versions split lxc.init.cmd differently',
  );
  const quoted = parseLxcConfig(render(noShell, { splitter: "quoted" })).find(([k]) => k === "lxc.init.cmd")![1];
  assert.equal(quoted, "/ep nginx -g 'daemon off;'");
  // For LXC 6 without a shell: LXC 6's quotes, and a comment that only LXC 6 reads the line so.
  const lxc6 = render(noShell, { lxcVersion: "6.0.4" });
  assert.equal(parseLxcConfig(lxc6).find(([k]) => k === "lxc.init.cmd")![1], "/ep nginx -g 'daemon off;'");
  assert.ok(lxc6.includes("# This lxc.init.cmd is quoted for LXC 6 and later; another LXC version splits it"), lxc6);
  const withShell = planFor({
    Entrypoint: ["/ep"],
    Cmd: ["nginx", "-g", "daemon off;"],
  }, { "/bin/sh": "x" });
  refuses(
    () => render(withShell, { shellFallback: false }),
    "config",
    /it needs quotes, and LXC versions split lxc.init.cmd differently/,
  );
  // With a shell, the launcher, which LXC 5 and LXC 6 read alike, also for LXC 6.
  for (const lxcVersion of ["5.0.2", "6.0.4"]) {
    const cmd = parseLxcConfig(render(withShell, { lxcVersion })).find(([k]) => k === "lxc.init.cmd")![1];
    assert.deepEqual(splitInitCmdLikeLxc(cmd, "space"), splitInitCmdLikeLxc(cmd, "quoted"), cmd);
    assert.deepEqual(splitInitCmdLikeLxc(cmd, "space").slice(0, 2), ["/bin/sh", "-c"], cmd);
  }
});

// --- hostile input ---------------------------------------------------------

const BENIGN: ImageRuntimeConfig = {
  Cmd: ["/app", "x"],
  Env: ["A=1"],
  WorkingDir: "/",
  User: "0",
  StopSignal: "SIGINT",
};

Deno.test("renderLxcConfig never gains a line from hostile fields that it drops", () => {
  const base = render(planFor(BENIGN));
  const hostile = render(planFor({
    ...BENIGN,
    Labels: { "evil\nlxc.hook.pre-start": "/x\nlxc.hook.start = /evil" },
    ExposedPorts: { "80/tcp\nlxc.include = /etc/shadow": {} },
    Healthcheck: { Test: ["CMD", "x\ny"] },
    OnBuild: ["RUN x\nlxc.y = z"],
    Shell: ["/bin/sh\n"],
    "Unknown\nlxc.hook.mount = /evil\r": "\n",
    "\u2028lxc.x\u0085 = y": 1,
  }));
  assert.deepEqual(entryLines(hostile), entryLines(base));
  assert.deepEqual(parseLxcConfig(hostile), parseLxcConfig(base));
  assert.ok(
    hostile.includes(
      "#   Unknown\\x0Alxc.hook.mount = /evil\\x0D: dropped (not a field of the OCI image config)\n",
    ),
  );
  assert.ok(!/\r/.test(hostile));
});

Deno.test("renderLxcConfig refuses hostile values that would reach a line, before writing anything", () => {
  const table: [ImageRuntimeConfig, string][] = [
    [
      { ...BENIGN, Env: ["A=1", "B=2", "C=3\nlxc.hook.pre-start = /evil"] },
      "Cannot use Env[2] of the image config: it contains a line feed",
    ],
    [
      { ...BENIGN, Env: ["A=1\r"] },
      "Cannot use Env[0] of the image config: it contains a carriage return",
    ],
    [
      { ...BENIGN, WorkingDir: "/x\nlxc.y = z" },
      "Cannot use WorkingDir of the image config: it contains a line feed",
    ],
    [
      { ...BENIGN, User: "0\nlxc.y = z" },
      "Cannot use User of the image config: it contains a line feed",
    ],
    [
      { ...BENIGN, StopSignal: "SIGTERM\nlxc.y = z" },
      "Cannot use StopSignal of the image config: it contains a line feed",
    ],
    [
      { ...BENIGN, Entrypoint: ["/x\nlxc.y = z"] },
      "Cannot use Entrypoint[0] of the image config: it contains a line feed",
    ],
    [
      { ...BENIGN, Cmd: ["/app", "\n"] },
      "Cannot use Cmd[1] of the image config: it contains a line feed",
    ],
  ];
  for (const [rc, message] of table) {
    refuses(() => render(planFor(rc)), "config", message);
  }
});

Deno.test("renderLxcConfig's writer refuses hostile values a plugin put into the plan", () => {
  const plan = planFor(BENIGN);
  const amend = (patch: Partial<ContainerPlan>) => ({ ...plan, ...patch }) as ContainerPlan;
  refuses(
    () => render(amend({ env: [["A", "1\nlxc.y = z"]] })),
    "config",
    "Cannot use the environment variable A: it contains a line feed",
  );
  refuses(
    () => render(amend({ hostname: "h\nx" })),
    "config",
    "Cannot use lxc.uts.name: it contains a line feed",
  );
  refuses(
    () => render(amend({ cwd: "/\r" })),
    "config",
    "Cannot use lxc.init.cwd: it contains a carriage return",
  );
  refuses(
    () =>
      render(
        amend({
          network: [{ type: "veth", keys: [["link", "br0\nlxc.x = y"]] }],
        }),
      ),
    "config",
    "Cannot use lxc.net.0.link: it contains a line feed",
  );
  assert.throws(
    () =>
      render(
        amend({ network: [{ type: "veth", keys: [["link\nlxc.x", "br0"]] }] }),
      ),
    TypeError,
  );
  refuses(
    () =>
      render(
        amend({
          mounts: [{ source: "/srv\n", target: "/d", readOnly: false }],
        }),
      ),
    "config",
    "Cannot use the volume /srv\n:/d: it contains a line feed",
  );
  refuses(
    () => render(plan, { rootfsPath: "/var/lib/lxc/x\n/rootfs" }),
    "config",
    "Cannot use the rootfs path: it contains a line feed",
  );
});

Deno.test("renderLxcConfig refuses environment values that could make LXC 5's host hooks run image code", () => {
  const cases: [string, RegExp][] = [
    [
      "LD_PRELOAD=/usr/lib/x86_64-linux-gnu/lxc/rootfs/evil.so",
      /inside LXC's rootfs mount point/,
    ],
    [
      "LD_LIBRARY_PATH=/lib:/var/lib/lxc/web/rootfs/lib",
      /inside \/var\/lib\/lxc\/web\/rootfs, which the container controls/,
    ],
    [
      "PATH=/var/lib/lxc/web//x/../rootfs/bin:/usr/bin",
      /which the container controls/,
    ],
    [
      "BASH_FUNC_mount%%=() { /evil; }",
      /bash would run it as a function definition/,
    ],
    ["SHELLOPTS=xtrace", /makes shells or interpreters run code/],
    ["PERL5OPT=-d", /makes shells or interpreters run code/],
  ];
  for (const [entry, why] of cases) {
    const plan = planFor({ Cmd: ["/app"], Env: [entry] });
    refuses(() => render(plan), "config", why);
    // lxc.environment.runtime reaches only the container.
    const text = render(plan, {
      lxcVersion: "6.0.5",
      environmentKey: "lxc.environment.runtime",
    });
    assert.ok(
      parseLxcConfig(text).some(([k, v]) => k === "lxc.environment.runtime" && v === entry),
    );
  }
  const bound = planFor({ Cmd: ["/app"], Env: ["X=/srv/shared/evil"] }, {}, {
    volumes: ["/srv/shared:/data"],
  });
  refuses(() => render(bound), "config", /inside \/srv\/shared/);
  // Ordinary values pass.
  render(
    planFor({
      Cmd: ["/app"],
      Env: ["LD_LIBRARY_PATH=/usr/local/nvidia/lib64", "JAVA_HOME=/opt/java"],
    }),
  );
});

Deno.test("renderLxcConfig refuses lxc.environment.runtime for LXC 5 and 6.0.4, which reject the key", () => {
  for (const lxcVersion of ["5.0.2", "6.0.4"]) {
    refuses(
      () =>
        render(planFor({ Cmd: ["/app"] }), {
          lxcVersion,
          environmentKey: "lxc.environment.runtime",
        }),
      "usage",
      `Cannot write lxc.environment.runtime for LXC ${lxcVersion}: only LXC 7.0.0 and Proxmox's lxc-pve 6.0.5-3 have that key`,
    );
  }
});

Deno.test("renderLxcConfig warns when lxc.environment would give host hooks a PATH without /bin or /usr/bin", () => {
  const warnings: string[] = [];
  render(planFor({ Cmd: ["/app"], Env: ["PATH=/opt/app/bin"] }), {
    onWarning: (w) => warnings.push(w),
  });
  assert.deepEqual(warnings, [
    "PATH (/opt/app/bin) has neither /bin nor /usr/bin; LXC 5 also gives it to host hooks (such as lxcfs's), which may then fail",
  ]);
  const none: string[] = [];
  render(planFor({ Cmd: ["/app"], Env: ["PATH=/opt/app/bin"] }), {
    lxcVersion: "6.0.5",
    environmentKey: "lxc.environment.runtime",
    onWarning: (w) => none.push(w),
  });
  assert.deepEqual(none, []);
});
