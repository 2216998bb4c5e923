import assert from "node:assert/strict";
import { Oci2LxcError } from "../../core/errors.ts";
import type { ImageConfig, ImageRuntimeConfig } from "../../core/image/image.ts";
import type { Platform } from "../../core/image/platform.ts";
import type { ContainerPlan } from "../../core/plan/container_plan.ts";
import { makePlan, type PlanOptions } from "../../core/plan/make_plan.ts";
import { DEFAULT_PATH } from "../../core/plan/plan_env.ts";
import { DEBIAN_USERS, type RootfsSpec, tempRootfs } from "./_rootfs.ts";

const AMD64: Platform = { os: "linux", architecture: "amd64" };

function plan(
  rc: ImageRuntimeConfig | undefined,
  spec: RootfsSpec = {},
  options: Partial<PlanOptions> = {},
  platform: Platform = AMD64,
): ContainerPlan {
  using root = tempRootfs(spec);
  const config: ImageConfig = rc === undefined ? {} : { config: rc };
  return makePlan(config, platform, root.reader, { name: "t", ...options });
}

/** Assert that planning fails with an Oci2LxcError of `code` whose message equals or matches `message`. */
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

function envOf(p: ContainerPlan): Record<string, string> {
  return Object.fromEntries(p.env);
}

// --- command ---------------------------------------------------------------

Deno.test("makePlan uses Cmd alone when there is no Entrypoint", () => {
  const p = plan({ Cmd: ["/bin/sh", "-c", "echo hi"] });
  assert.deepEqual(p.argv, ["/bin/sh", "-c", "echo hi"]);
  assert.deepEqual(p.argvSources, [
    "Cmd[0] of the image config",
    "Cmd[1] of the image config",
    "Cmd[2] of the image config",
  ]);
  assert.equal(p.kind, "app");
});

Deno.test("makePlan uses Entrypoint alone when there is no Cmd", () => {
  assert.deepEqual(plan({ Entrypoint: ["/app", "--serve"], Cmd: null }).argv, [
    "/app",
    "--serve",
  ]);
});

Deno.test("makePlan appends Cmd to Entrypoint", () => {
  assert.deepEqual(
    plan({
      Entrypoint: ["/docker-entrypoint.sh"],
      Cmd: ["nginx", "-g", "daemon off;"],
    }).argv,
    [
      "/docker-entrypoint.sh",
      "nginx",
      "-g",
      "daemon off;",
    ],
  );
});

Deno.test("makePlan clears the image Cmd when --entrypoint is given, as Docker does", () => {
  const p = plan({ Entrypoint: ["/old"], Cmd: ["arg"] }, {}, {
    entrypoint: ["/new"],
  });
  assert.deepEqual(p.argv, ["/new"]);
  assert.deepEqual(p.argvSources, ["--entrypoint[0]"]);
  const cmd = p.fields.find((f) => f.field === "Cmd")!;
  assert.equal(cmd.status, "overridden");
  assert.match(cmd.reason!, /--entrypoint/);
  assert.equal(
    p.fields.find((f) => f.field === "Entrypoint")!.status,
    "overridden",
  );
});

Deno.test("makePlan keeps --cmd after --entrypoint", () => {
  assert.deepEqual(
    plan({ Entrypoint: ["/old"], Cmd: ["arg"] }, {}, {
      entrypoint: ["/new"],
      cmd: ["x"],
    }).argv,
    [
      "/new",
      "x",
    ],
  );
});

Deno.test("makePlan keeps the image Entrypoint when only --cmd is given", () => {
  const p = plan({ Entrypoint: ["/ep"], Cmd: ["old"] }, {}, {
    cmd: ["new", "args"],
  });
  assert.deepEqual(p.argv, ["/ep", "new", "args"]);
  assert.deepEqual(p.argvSources, [
    "Entrypoint[0] of the image config",
    "--cmd[0]",
    "--cmd[1]",
  ]);
});

Deno.test("makePlan treats an empty --entrypoint as clearing both Entrypoint and Cmd", () => {
  refuses(
    () => plan({ Entrypoint: ["/ep"], Cmd: ["x"] }, {}, { entrypoint: [] }),
    "config",
    "Cannot plan the container: the image config has no Entrypoint or Cmd, and the rootfs has no init",
  );
});

Deno.test("makePlan refuses an image without a command and without an init", () => {
  refuses(
    () => plan({ Env: ["A=1"] }),
    "config",
    "Cannot plan the container: the image config has no Entrypoint or Cmd, and the rootfs has no init",
  );
});

Deno.test("makePlan runs the rootfs's init as a system container when the image has no command", () => {
  const p = plan({}, {
    "/lib/systemd/systemd": "ELF",
    "/sbin/init": { link: "/lib/systemd/systemd" },
  });
  assert.equal(p.kind, "system");
  assert.deepEqual(p.argv, ["/sbin/init"]);
  assert.equal(p.systemd, true);
  assert.equal(p.stopSignal, "SIGRTMIN+3");
  assert.ok(p.warnings.some((w) => w.includes("no command")));
});

Deno.test("makePlan makes a system container only for argv[0] in the init list", () => {
  for (
    const init of [
      "/sbin/init",
      "/usr/sbin/init",
      "/lib/systemd/systemd",
      "/sbin/openrc-init",
      "/init",
      "/bin/init",
    ]
  ) {
    assert.equal(plan({ Cmd: [init, "--flag"] }).kind, "system", init);
  }
  for (
    const app of [
      "/usr/bin/tini",
      "/sbin/tini",
      "/usr/bin/dumb-init",
      "init",
      "/docker-init",
      "/bin/sh",
    ]
  ) {
    assert.equal(plan({ Cmd: [app] }).kind, "app", app);
  }
});

Deno.test("makePlan picks the halt signal of each kind of init", () => {
  assert.equal(
    plan({ Cmd: ["/usr/lib/systemd/systemd"] }).stopSignal,
    "SIGRTMIN+3",
  );
  assert.equal(
    plan({ Cmd: ["/sbin/init"] }, {
      "/sbin/init": { link: "/bin/busybox" },
      "/bin/busybox": "x",
    }).stopSignal,
    "SIGPWR",
  );
  assert.equal(plan({ Cmd: ["/init"] }).stopSignal, "SIGTERM");
  assert.equal(plan({ Cmd: ["/app"] }).stopSignal, "SIGTERM");
  assert.equal(
    plan({ Cmd: ["/sbin/init"], StopSignal: "SIGRTMIN+4" }).stopSignal,
    "SIGRTMIN+4",
  );
});

// --- environment ------------------------------------------------------------

Deno.test("makePlan keeps Env order, lets later duplicates win in place, and adds PATH, HOSTNAME and HOME", () => {
  const p = plan({ Cmd: ["/app"], Env: ["B=1", "A=2", "B=3"] }, DEBIAN_USERS);
  assert.deepEqual(p.env, [
    ["PATH", DEFAULT_PATH],
    ["HOSTNAME", "t"],
    ["B", "3"],
    ["A", "2"],
    ["HOME", "/root"],
  ]);
});

Deno.test("makePlan keeps the image PATH and HOME when it sets them", () => {
  const p = plan({
    Cmd: ["/app"],
    Env: ["PATH=/opt/bin:/usr/bin", "HOME=/data"],
  }, DEBIAN_USERS);
  assert.deepEqual(p.env, [["PATH", "/opt/bin:/usr/bin"], ["HOSTNAME", "t"], [
    "HOME",
    "/data",
  ]]);
});

Deno.test("makePlan merges --env key by key: K=V replaces, K= empties, bare K removes", () => {
  const p = plan({ Cmd: ["/app"], Env: ["A=1", "B=2", "C=3"] }, {}, {
    env: ["B=two", "C=", "A", "D=new=x"],
  });
  assert.deepEqual(p.env, [
    ["PATH", DEFAULT_PATH],
    ["HOSTNAME", "t"],
    ["B", "two"],
    ["C", ""],
    ["D", "new=x"],
    ["HOME", "/"],
  ]);
});

Deno.test("makePlan never reads the host's environment for a bare --env name", () => {
  Deno.env.set("OCI2LXC_TEST_SECRET", "leak");
  try {
    const p = plan({ Cmd: ["/app"] }, {}, { env: ["OCI2LXC_TEST_SECRET"] });
    assert.equal(envOf(p)["OCI2LXC_TEST_SECRET"], undefined);
  } finally {
    Deno.env.delete("OCI2LXC_TEST_SECRET");
  }
});

Deno.test("makePlan removes a variable for an image Env entry without '=' and warns", () => {
  const p = plan({ Cmd: ["/app"], Env: ["PATH"] });
  assert.equal(envOf(p)["PATH"], undefined);
  assert.ok(
    p.warnings.some((w) => w.includes('Env[0] of the image config "PATH" has no "="')),
  );
});

Deno.test("makePlan takes HOME from the passwd entry of the user, and / without one", () => {
  assert.equal(
    envOf(plan({ Cmd: ["/app"], User: "app" }, DEBIAN_USERS))["HOME"],
    "/home/app",
  );
  assert.equal(
    envOf(plan({ Cmd: ["/app"], User: "4242" }, DEBIAN_USERS))["HOME"],
    "/",
  );
  assert.equal(
    envOf(plan({ Cmd: ["/app"], User: "nohome" }, DEBIAN_USERS))["HOME"],
    "/",
  );
  assert.equal(envOf(plan({ Cmd: ["/app"] }))["HOME"], "/");
});

// --- user -------------------------------------------------------------------

Deno.test("makePlan resolves a user name with its primary gid and the groups that list it", () => {
  const p = plan({ Cmd: ["/app"], User: "app" }, DEBIAN_USERS);
  assert.deepEqual(p.user, {
    uid: 1000,
    gid: 1000,
    groups: [33, 29, 44],
    name: "app",
    home: "/home/app",
  });
});

Deno.test("makePlan resolves a numeric uid through passwd for its name, gid and groups", () => {
  assert.deepEqual(plan({ Cmd: ["/app"], User: "1000" }, DEBIAN_USERS).user, {
    uid: 1000,
    gid: 1000,
    groups: [33, 29, 44],
    name: "app",
    home: "/home/app",
  });
});

Deno.test("makePlan accepts a uid that passwd does not know, with gid 0", () => {
  assert.deepEqual(plan({ Cmd: ["/app"], User: "4242" }, DEBIAN_USERS).user, {
    uid: 4242,
    gid: 0,
    groups: [],
    name: undefined,
    home: "/",
  });
});

Deno.test("makePlan uses an explicit group and then sets no supplementary groups", () => {
  assert.deepEqual(
    plan({ Cmd: ["/app"], User: "app:www-data" }, DEBIAN_USERS).user.groups,
    [],
  );
  assert.equal(
    plan({ Cmd: ["/app"], User: "app:www-data" }, DEBIAN_USERS).user.gid,
    33,
  );
  assert.deepEqual(
    [
      plan({ Cmd: ["/app"], User: "1000:44" }, DEBIAN_USERS).user.uid,
      plan({ Cmd: ["/app"], User: "1000:44" }, DEBIAN_USERS).user.gid,
    ],
    [1000, 44],
  );
  assert.equal(
    plan({ Cmd: ["/app"], User: "4242:video" }, DEBIAN_USERS).user.gid,
    44,
  );
  assert.equal(plan({ Cmd: ["/app"], User: "5:6" }).user.gid, 6);
});

Deno.test("makePlan refuses a user name that passwd does not know, naming the field and the name", () => {
  refuses(
    () => plan({ Cmd: ["/app"], User: "nobody-here" }, DEBIAN_USERS),
    "config",
    'Cannot use User of the image config "nobody-here": /etc/passwd of the rootfs has no such user',
  );
  refuses(
    () => plan({ Cmd: ["/app"], User: "app" }),
    "config",
    'Cannot use User of the image config "app": the rootfs has no /etc/passwd',
  );
  refuses(
    () => plan({ Cmd: ["/app"] }, DEBIAN_USERS, { user: "ghost" }),
    "usage",
    'Cannot use --user "ghost": /etc/passwd of the rootfs has no such user',
  );
});

Deno.test("makePlan refuses a group name that /etc/group does not know", () => {
  refuses(
    () => plan({ Cmd: ["/app"], User: "app:nogroup" }, DEBIAN_USERS),
    "config",
    'Cannot use User of the image config "app:nogroup": /etc/group of the rootfs has no such group',
  );
});

Deno.test("makePlan refuses malformed User values", () => {
  for (const bad of ["a:b:c", ":1", "1:", "99999999999"]) {
    refuses(
      () => plan({ Cmd: ["/app"], User: bad }, DEBIAN_USERS),
      "config",
      /^Cannot use User of the image config/,
    );
  }
});

Deno.test("makePlan refuses a user outside the container's ID map", () => {
  const idmap = {
    uid: [{ container: 0, host: 100000, size: 65536 }],
    gid: [{ container: 0, host: 100000, size: 65536 }],
  };
  assert.equal(
    plan({ Cmd: ["/app"], User: "1000" }, {}, { idmap }).user.uid,
    1000,
  );
  refuses(
    () => plan({ Cmd: ["/app"], User: "70000" }, {}, { idmap }),
    "config",
    'Cannot use User of the image config "70000": uid 70000 is outside the container\'s ID map (0-65535 → 100000-165535)',
  );
  refuses(
    () => plan({ Cmd: ["/app"], User: "1:70000" }, {}, { idmap }),
    "config",
    /gid 70000 is outside/,
  );
});

Deno.test("makePlan lets --user replace the image User", () => {
  const p = plan({ Cmd: ["/app"], User: "app" }, DEBIAN_USERS, { user: "33" });
  assert.equal(p.user.uid, 33);
  assert.equal(p.fields.find((f) => f.field === "User")!.status, "overridden");
});

// --- working directory ------------------------------------------------------

Deno.test("makePlan defaults the working directory to / and cleans an absolute one", () => {
  assert.equal(plan({ Cmd: ["/app"] }).cwd, "/");
  assert.equal(plan({ Cmd: ["/app"], WorkingDir: "" }).cwd, "/");
  const p = plan({ Cmd: ["/app"], WorkingDir: "/srv//app/./x/.." }, {
    "/srv/app/keep": "",
  });
  assert.equal(p.cwd, "/srv/app");
  assert.deepEqual(p.directories, []);
});

Deno.test("makePlan refuses a relative WorkingDir", () => {
  refuses(
    () => plan({ Cmd: ["/app"], WorkingDir: "app" }),
    "config",
    'Cannot use WorkingDir of the image config "app": it is not an absolute path',
  );
  refuses(
    () => plan({ Cmd: ["/app"] }, {}, { workdir: "rel" }),
    "usage",
    'Cannot use --workdir "rel": it is not an absolute path',
  );
});

Deno.test("makePlan asks for a missing working directory to be created, and refuses a file", () => {
  assert.deepEqual(plan({ Cmd: ["/app"], WorkingDir: "/work" }).directories, [
    { path: "/work", uid: 0, gid: 0, mode: 0o755, reason: "WorkingDir" },
  ]);
  refuses(
    () => plan({ Cmd: ["/app"], WorkingDir: "/file" }, { "/file": "x" }),
    "config",
    'Cannot use WorkingDir of the image config "/file": it is not a directory in the rootfs',
  );
});

// --- stop signal ------------------------------------------------------------

Deno.test("makePlan normalises StopSignal to the SIG form LXC takes", () => {
  for (const s of ["QUIT", "SIGQUIT", "3", "sigquit", "Quit"]) {
    assert.equal(plan({ Cmd: ["/a"], StopSignal: s }).stopSignal, "SIGQUIT", s);
  }
  assert.equal(
    plan({ Cmd: ["/a"], StopSignal: "SIGRTMIN+3" }).stopSignal,
    "SIGRTMIN+3",
  );
  assert.equal(
    plan({ Cmd: ["/a"], StopSignal: "SIGWINCH" }).stopSignal,
    "SIGWINCH",
  );
  assert.equal(
    plan({ Cmd: ["/a"] }, {}, { stopSignal: "INT" }).stopSignal,
    "SIGINT",
  );
});

Deno.test("makePlan refuses a StopSignal that is not a signal, naming the field", () => {
  refuses(
    () => plan({ Cmd: ["/a"], StopSignal: "SIGNOPE" }),
    "config",
    'Cannot use StopSignal of the image config "SIGNOPE": not a signal name or number',
  );
  refuses(
    () => plan({ Cmd: ["/a"], StopSignal: "65" }),
    "config",
    /not a signal/,
  );
  refuses(
    () => plan({ Cmd: ["/a"], StopSignal: "SIGRTMIN+31" }),
    "config",
    /not a signal/,
  );
});

// --- volumes and mounts -----------------------------------------------------

Deno.test("makePlan creates missing volume directories as root and keeps existing ones", () => {
  const p = plan({
    Cmd: ["/a"],
    Volumes: { "/data": {}, "/var/lib/x/": {}, "/exists": {} },
  }, { "/exists/f": "" });
  assert.deepEqual(p.volumes, [
    { path: "/data", exists: false, bound: false },
    { path: "/var/lib/x", exists: false, bound: false },
    { path: "/exists", exists: true, bound: false },
  ]);
  assert.deepEqual(
    p.directories.map((d) => [d.path, d.uid, d.gid, d.mode, d.reason]),
    [
      ["/data", 0, 0, 0o755, "Volumes"],
      ["/var/lib/x", 0, 0, 0o755, "Volumes"],
    ],
  );
  assert.ok(
    p.warnings.some((w) => w.includes("/data, /var/lib/x, /exists stay in the rootfs")),
  );
});

Deno.test("makePlan binds --volume host directories, parents first", () => {
  const p = plan({ Cmd: ["/a"], Volumes: { "/data": {} } }, {}, {
    volumes: ["/srv/d/sub:/data/sub:ro", "/srv/d:/data"],
  });
  assert.deepEqual(p.mounts, [
    { source: "/srv/d", target: "/data", readOnly: false },
    { source: "/srv/d/sub", target: "/data/sub", readOnly: true },
  ]);
  assert.equal(p.volumes[0]!.bound, true);
  assert.equal(
    p.fields.find((f) => f.field === "Volumes")!.to,
    "lxc.mount.entry",
  );
});

Deno.test("makePlan refuses malformed --volume values", () => {
  for (
    const bad of ["/a", "rel:/x", "/a:rel", "/a:/x:rx", "/a:/", "/a:/b:ro:x"]
  ) {
    refuses(
      () => plan({ Cmd: ["/a"] }, {}, { volumes: [bad] }),
      "usage",
      /^Cannot use --volume\[0\]/,
    );
  }
  refuses(
    () => plan({ Cmd: ["/a"] }, {}, { volumes: ["/a:/x", "/b:/x/"] }),
    "usage",
    /already mounts \/x/,
  );
});

Deno.test("makePlan refuses a relative Volumes key", () => {
  refuses(
    () => plan({ Cmd: ["/a"], Volumes: { "data": {} } }),
    "config",
    /^Cannot use Volumes key "data" of the image config/,
  );
});

// --- fields ----------------------------------------------------------------

Deno.test("makePlan lists every image config field once, with a reason for each dropped one", () => {
  const p = plan({
    Cmd: ["/a"],
    ExposedPorts: { "80/tcp": {} },
    Labels: { a: "1", b: "2" },
    Healthcheck: { Test: ["CMD", "true"] },
    OnBuild: ["RUN x"],
    Shell: ["/bin/sh", "-c"],
    ArgsEscaped: true,
    Hostname: "",
    Domainname: "",
  });
  const names = p.fields.map((f) => f.field);
  assert.deepEqual(names, [
    "User",
    "Env",
    "Entrypoint",
    "Cmd",
    "WorkingDir",
    "StopSignal",
    "Volumes",
    "ExposedPorts",
    "Labels",
    "Healthcheck",
    "OnBuild",
    "Shell",
    "ArgsEscaped",
    "Hostname",
    "Domainname",
  ]);
  for (const f of p.fields.slice(7)) {
    assert.equal(f.status, "dropped", f.field);
    assert.ok(f.reason && f.reason.length > 5, f.field);
  }
  assert.match(
    p.fields.find((f) => f.field === "Labels")!.reason!,
    /^2 labels: /,
  );
  assert.deepEqual(p.fields.find((f) => f.field === "Cmd"), {
    field: "Cmd",
    status: "mapped",
    to: "lxc.init.cmd",
  });
  assert.equal(p.fields.find((f) => f.field === "User")!.status, "defaulted");
});

Deno.test("makePlan caps the number of unknown fields it lists", () => {
  const rc: ImageRuntimeConfig = { Cmd: ["/a"] };
  for (let i = 0; i < 200; i++) rc[`X${i}`] = i;
  const p = plan(rc);
  assert.equal(p.fields.length, 13 + 50);
  assert.ok(p.warnings.some((w) => w.includes("200 unknown fields")));
});

Deno.test("makePlan refuses fields of the wrong type", () => {
  refuses(
    () => plan({ Cmd: "/bin/sh" as unknown as string[] }),
    "config",
    "Cannot use Cmd of the image config: expected an array of strings or null",
  );
  refuses(
    () => plan({ Cmd: ["/a"], Env: "A=1" as unknown as string[] }),
    "config",
    /^Cannot use Env of the image config/,
  );
  refuses(
    () => plan({ Cmd: ["/a"], User: 0 as unknown as string }),
    "config",
    /^Cannot use User of the image config/,
  );
});

// --- hostile values ---------------------------------------------------------

Deno.test("makePlan refuses line breaks and control characters in every value that reaches the config", () => {
  refuses(
    () =>
      plan({
        Cmd: ["/a"],
        Env: ["A=1", "B=2", "C=x\nlxc.hook.pre-start = /evil"],
      }),
    "config",
    "Cannot use Env[2] of the image config: it contains a line feed",
  );
  refuses(
    () => plan({ Cmd: ["/a"], Env: ["A=x\ry"] }),
    "config",
    "Cannot use Env[0] of the image config: it contains a carriage return",
  );
  refuses(
    () => plan({ Cmd: ["/a"], Env: ["A=\0"] }),
    "config",
    "Cannot use Env[0] of the image config: it contains a NUL byte",
  );
  refuses(
    () => plan({ Cmd: ["/a"], Env: ["A=\x1b[31m"] }),
    "config",
    /an escape character/,
  );
  refuses(
    () => plan({ Cmd: ["/a"], Env: ["A=\x7f"] }),
    "config",
    /a delete character/,
  );
  refuses(
    () => plan({ Cmd: ["/a"], Env: ["A=\ud800"] }),
    "config",
    /lone UTF-16 surrogate/,
  );
  refuses(
    () => plan({ Cmd: ["/a"], WorkingDir: "/x\nlxc.y = z" }),
    "config",
    "Cannot use WorkingDir of the image config: it contains a line feed",
  );
  refuses(
    () => plan({ Cmd: ["/a"], User: "0\n" }),
    "config",
    "Cannot use User of the image config: it contains a line feed",
  );
  refuses(
    () => plan({ Cmd: ["/a"], StopSignal: "SIGTERM\r\n" }),
    "config",
    "Cannot use StopSignal of the image config: it contains a carriage return",
  );
  refuses(
    () => plan({ Entrypoint: ["/a\n"], Cmd: ["x"] }),
    "config",
    "Cannot use Entrypoint[0] of the image config: it contains a line feed",
  );
  refuses(
    () => plan({ Cmd: ["/a", "ok", "b\u000b"] }),
    "config",
    "Cannot use Cmd[2] of the image config: it contains a vertical tab",
  );
  refuses(
    () => plan({ Cmd: ["/a"], Volumes: { "/v\n": {} } }),
    "config",
    /^Cannot use Volumes key .* it contains a line feed$/,
  );
  refuses(
    () => plan({ Cmd: ["/a"] }, {}, { env: ["A=\n"] }),
    "usage",
    "Cannot use --env[0]: it contains a line feed",
  );
});

Deno.test("makePlan accepts a tab inside an Env value, as the php image has", () => {
  assert.equal(
    envOf(plan({ Cmd: ["/a"], Env: ["PHP_CFLAGS=-O2\t-g"] }))["PHP_CFLAGS"],
    "-O2\t-g",
  );
});

Deno.test("makePlan accepts hostile Labels and unknown keys: they never reach values", () => {
  const p = plan({
    Cmd: ["/a"],
    Labels: { "x\ny": "a\nlxc.hook.start = /evil" },
    "Evil\nkey": 1,
  });
  assert.equal(
    p.fields.find((f) => f.field === "Evil\nkey")!.status,
    "dropped",
  );
});

// --- platform, hostname, /run, shell ----------------------------------------

Deno.test("makePlan maps the image platform to LXC's arch names", () => {
  assert.equal(plan({ Cmd: ["/a"] }).arch, "amd64");
  assert.equal(
    plan({ Cmd: ["/a"] }, {}, {}, {
      os: "linux",
      architecture: "arm64",
      variant: "v8",
    }).arch,
    "arm64",
  );
  assert.equal(
    plan({ Cmd: ["/a"] }, {}, {}, {
      os: "linux",
      architecture: "arm",
      variant: "v7",
    }).arch,
    "armhf",
  );
  assert.equal(
    plan({ Cmd: ["/a"] }, {}, {}, {
      os: "linux",
      architecture: "arm",
      variant: "v6",
    }).arch,
    "armel",
  );
  assert.equal(
    plan({ Cmd: ["/a"] }, {}, {}, { os: "linux", architecture: "386" }).arch,
    "i386",
  );
  const loong = plan({ Cmd: ["/a"] }, {}, {}, {
    os: "linux",
    architecture: "loong64",
  });
  assert.equal(loong.arch, undefined);
  assert.ok(loong.warnings.some((w) => w.includes("linux/loong64")));
  refuses(
    () => plan({ Cmd: ["/a"] }, {}, {}, { os: "windows", architecture: "amd64" }),
    "config",
    "Cannot plan a container for a windows/amd64 image: LXC runs Linux images only",
  );
});

Deno.test("makePlan checks the container name and derives a valid hostname", () => {
  assert.equal(plan({ Cmd: ["/a"] }, {}, { name: "web-1" }).hostname, "web-1");
  const p = plan({ Cmd: ["/a"] }, {}, { name: "web_1.x" });
  assert.equal(p.hostname, "web-1.x".replace(".", "-"));
  refuses(
    () => plan({ Cmd: ["/a"] }, {}, { name: "a b" }),
    "usage",
    /^Cannot use container name "a b"/,
  );
  refuses(
    () => plan({ Cmd: ["/a"] }, {}, { name: "x", hostname: "bad_host" }),
    "usage",
    /not a valid hostname/,
  );
});

Deno.test("makePlan mounts a tmpfs on /run for apps only when the image's /run is missing or empty", () => {
  assert.equal(plan({ Cmd: ["/a"] }).runTmpfs, true);
  assert.equal(plan({ Cmd: ["/a"] }, { "/run": { dir: true } }).runTmpfs, true);
  assert.equal(plan({ Cmd: ["/a"] }, { "/run/mysqld/x": "" }).runTmpfs, false);
  assert.equal(plan({ Cmd: ["/sbin/init"] }).runTmpfs, false);
});

Deno.test("makePlan finds the image's /bin/sh through symlinks", () => {
  assert.equal(
    plan({ Cmd: ["/a"] }, {
      "/bin/sh": { link: "busybox" },
      "/bin/busybox": "x",
    }).shell,
    "/bin/sh",
  );
  assert.equal(
    plan({ Cmd: ["/a"] }, { "/bin/sh": { link: "/nowhere" } }).shell,
    undefined,
  );
  assert.equal(plan({ Cmd: ["/a"] }).shell, undefined);
});

Deno.test("makePlan records each mapped field as overridden, mapped or defaulted, with its reason", () => {
  const fates = (p: ContainerPlan) => p.fields.slice(0, 7);
  assert.deepEqual(fates(plan({}, { "/sbin/init": "" })), [
    { field: "User", status: "defaulted", to: "lxc.init.uid", reason: "not set: root" },
    { field: "Env", status: "defaulted", to: "lxc.environment", reason: "not set: PATH, HOSTNAME and HOME defaults" },
    { field: "Entrypoint", status: "defaulted", to: "lxc.init.cmd", reason: "not set" },
    { field: "Cmd", status: "defaulted", to: "lxc.init.cmd", reason: "not set" },
    { field: "WorkingDir", status: "defaulted", to: "lxc.init.cwd", reason: "not set: /" },
    { field: "StopSignal", status: "defaulted", to: "lxc.signal.halt", reason: "not set: SIGPWR" },
    { field: "Volumes", status: "defaulted", reason: "not set" },
  ]);
  const image = {
    User: "app",
    Env: ["A=1"],
    Entrypoint: ["/e"],
    Cmd: ["c"],
    WorkingDir: "/w",
    StopSignal: "QUIT",
    Volumes: { "/data": {} },
  };
  assert.deepEqual(fates(plan(image, DEBIAN_USERS)), [
    { field: "User", status: "mapped", to: "lxc.init.uid" },
    { field: "Env", status: "mapped", to: "lxc.environment" },
    { field: "Entrypoint", status: "mapped", to: "lxc.init.cmd" },
    { field: "Cmd", status: "mapped", to: "lxc.init.cmd" },
    { field: "WorkingDir", status: "mapped", to: "lxc.init.cwd" },
    { field: "StopSignal", status: "mapped", to: "lxc.signal.halt" },
    {
      field: "Volumes",
      status: "mapped",
      reason: "directories in the rootfs; bound to host directories where --volume says so",
    },
  ]);
  const overridden = plan(image, DEBIAN_USERS, {
    user: "0",
    env: ["B=2"],
    entrypoint: ["/x"],
    workdir: "/",
    stopSignal: "TERM",
    volumes: ["/srv:/data"],
  });
  assert.deepEqual(fates(overridden), [
    { field: "User", status: "overridden", to: "lxc.init.uid", reason: "replaced by --user" },
    { field: "Env", status: "mapped", to: "lxc.environment", reason: "merged with --env" },
    { field: "Entrypoint", status: "overridden", to: "lxc.init.cmd", reason: "replaced by --entrypoint" },
    {
      field: "Cmd",
      status: "overridden",
      to: "lxc.init.cmd",
      reason: "cleared because --entrypoint was given (as Docker does)",
    },
    { field: "WorkingDir", status: "overridden", to: "lxc.init.cwd", reason: "replaced by --workdir" },
    { field: "StopSignal", status: "overridden", to: "lxc.signal.halt", reason: "replaced by --stop-signal" },
    {
      field: "Volumes",
      status: "mapped",
      to: "lxc.mount.entry",
      reason: "directories in the rootfs; bound to host directories where --volume says so",
    },
  ]);
  assert.deepEqual(overridden.directories.map((d) => [d.path, d.reason]), [["/data", "Volumes"]]);
  const both = plan(image, DEBIAN_USERS, { entrypoint: ["/x"], cmd: ["y"] });
  assert.deepEqual(both.fields.find((f) => f.field === "Cmd"), {
    field: "Cmd",
    status: "overridden",
    to: "lxc.init.cmd",
    reason: "replaced by --cmd",
  });
  assert.deepEqual(plan(image, DEBIAN_USERS).directories.map((d) => [d.path, d.reason]), [
    ["/w", "WorkingDir"],
    ["/data", "Volumes"],
  ]);
});

Deno.test("makePlan gives its warnings in the order of the fields", () => {
  const p = plan(
    {
      User: "app",
      Env: ["NOEQ"],
      Volumes: { "/v": {} },
      ...Object.fromEntries([...Array(51)].map((_, i) => [`k${i}`, 1])),
    },
    { ...DEBIAN_USERS, "/sbin/init": "" },
    { name: "a_b" },
    { os: "linux", architecture: "sparc" },
  );
  assert.deepEqual(p.warnings, [
    'the name "a_b" is not a valid hostname; the hostname is "a-b"',
    "the image has no command; running its init /sbin/init as a system container",
    "the init /sbin/init runs as uid 1000, not root; most inits need root",
    'Env[0] of the image config "NOEQ" has no "=": it removes NOEQ from the environment',
    "the volume /v stays in the rootfs; bind a host directory with --volume HOSTDIR:PATH to keep data apart",
    "the image config has 51 unknown fields; the report lists the first 50",
    "LXC has no arch name for linux/sparc; lxc.arch is left out, so the host's is used",
  ]);
});
