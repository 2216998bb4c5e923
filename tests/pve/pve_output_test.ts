import assert from "node:assert/strict";
import { writePveOutput } from "../../core/pve/pve_output.ts";
import { Oci2LxcError } from "../../core/errors.ts";
import type { ContainerPlan } from "../../core/plan/container_plan.ts";
import { makePlan } from "../../core/plan/make_plan.ts";
import { directoryRootfsReader } from "../../core/plan/rootfs_reader.ts";
import { apply, dir, file, symlink } from "../rootfs/_layers.ts";
import { latin1, pctExtract, readTar, unzstd } from "./_helpers.ts";
import { systemTest } from "../_helpers/tier.ts";

function setup(): { base: string; rootfs: string; plan: ContainerPlan; done(): void } {
  const base = Deno.makeTempDirSync({ prefix: "oci2lxc-pveout-" });
  const rootfs = `${base}/rootfs`;
  Deno.mkdirSync(rootfs);
  apply(rootfs, [[dir("bin"), file("bin/app", "#!/bin/sh\n", { mode: 0o755 }), dir("srv", { uid: 1000, gid: 1000 })]]);
  const plan = makePlan(
    { config: { Cmd: ["/bin/app", "--port", "80"], User: "1000:1000", WorkingDir: "/srv" } },
    { os: "linux", architecture: "amd64" },
    directoryRootfsReader(rootfs),
    { name: "app" },
  );
  return { base, rootfs, plan, done: () => Deno.removeSync(base, { recursive: true }) };
}

systemTest(
  "writePveOutput writes NAME.tar.zst, VMID.conf and, before 9.1, the include file, with nothing left half-written",
  async () => {
    const s = setup();
    try {
      const outDir = `${s.base}/out/pve`;
      const out = await writePveOutput({
        rootfsDir: s.rootfs,
        plan: s.plan,
        outDir,
        vmid: 130,
        pveVersion: "8.4",
        name: "app",
      });
      assert.equal(out.template, `${outDir}/app.tar.zst`);
      assert.equal(out.conf, `${outDir}/130.conf`);
      assert.equal(out.include, `${outDir}/130.oci2lxc.conf`);
      assert.equal(out.includeTarget, "/var/lib/lxc/130/oci2lxc.conf");
      assert.deepEqual([...Deno.readDirSync(outDir)].map((e) => e.name).sort(), [
        "130.conf",
        "130.oci2lxc.conf",
        "app.tar.zst",
      ]);
      const conf = Deno.readTextFileSync(out.conf);
      assert.match(conf, /^lxc\.init\.cmd: \/bin\/app --port 80$/m);
      assert.match(conf, /^lxc\.include: \/var\/lib\/lxc\/130\/oci2lxc\.conf$/m);
      assert.match(Deno.readTextFileSync(out.include!), /^lxc\.init\.uid = 1000$/m);
      const names = readTar(unzstd(out.template)).members.map((m) => latin1(m.entry.path));
      // The image has no /etc: the template adds one for the generated /etc/hosts.
      assert.deepEqual(names, [".", "./bin", "./bin/app", "./etc", "./etc/hosts", "./srv"]);
      assert.equal(out.members, 6);
      assert.deepEqual(out.steps, [
        "cp app.tar.zst /var/lib/vz/template/cache/",
        "pct create 130 local:vztmpl/app.tar.zst --ostype unmanaged --arch amd64 --unprivileged 1",
        "cat 130.conf >> /etc/pve/lxc/130.conf",
        "mkdir -p /var/lib/lxc/130 && cp 130.oci2lxc.conf /var/lib/lxc/130/oci2lxc.conf",
        "pct start 130",
      ]);

      const native = await writePveOutput({
        rootfsDir: s.rootfs,
        plan: s.plan,
        outDir,
        vmid: 131,
        pveVersion: "pve-container/6.1.0",
        name: "app",
        // The template of the same name is there from the write above: only it may be replaced, as an update does.
        replace: "template",
      });
      assert.equal(native.include, undefined, "pve-container 6.1.0 takes the user keys in the conf");
      assert.match(Deno.readTextFileSync(native.conf), /^lxc\.init\.uid: /m);
      assert.match(Deno.readTextFileSync(native.conf), /^entrypoint: \/bin\/app --port 80$/m);
    } finally {
      s.done();
    }
  },
);

systemTest("writePveOutput checks name, version and config before it writes anything", async () => {
  const s = setup();
  try {
    const outDir = `${s.base}/out`;
    const base = { rootfsDir: s.rootfs, plan: s.plan, outDir, vmid: 130, pveVersion: "8", name: "app" };
    const fails: [Partial<typeof base> & { plan?: ContainerPlan }, RegExp][] = [
      [{ name: "my app" }, /Cannot use template name/],
      [{ name: "../app" }, /Cannot use template name/],
      [{ pveVersion: "6" }, /Cannot use Proxmox VE version/],
      [{ vmid: 7 }, /Cannot use VMID 7/],
      [{ plan: { ...s.plan, arch: "s390x" } }, /Cannot write arch s390x/],
    ];
    for (const [change, message] of fails) {
      await assert.rejects(
        writePveOutput({ ...base, ...change }),
        (err: unknown) => err instanceof Oci2LxcError && message.test(err.message),
      );
      assert.throws(() => Deno.statSync(outDir), Deno.errors.NotFound, "nothing was written");
    }
  } finally {
    s.done();
  }
});

systemTest(
  "writePveOutput puts /etc/hosts and /etc/resolv.conf in an app's template, as Proxmox VE writes none for ostype unmanaged",
  async () => {
    const s = setup();
    try {
      apply(s.rootfs, [[
        dir("etc"),
        file("etc/hosts", "# the image's\n"),
        symlink("etc/resolv.conf", "../run/systemd/resolve/stub-resolv.conf"),
        file("etc/passwd", "root:x:0:0::/root:/bin/sh\n"),
      ]]);
      const hostResolv = `${s.base}/host-resolv.conf`;
      Deno.writeTextFileSync(hostResolv, "nameserver 127.0.0.53\nnameserver 192.0.2.53\nsearch example.org\n");
      const warnings: string[] = [];
      const out = await writePveOutput({
        rootfsDir: s.rootfs,
        plan: s.plan,
        outDir: `${s.base}/out`,
        vmid: 140,
        pveVersion: "9.0",
        name: "app",
        net: ["ip=10.0.3.5/24,gw=10.0.3.1"],
        hostResolvConf: hostResolv,
        onWarning: (w) => warnings.push(w),
      });
      assert.match(
        Deno.readTextFileSync(out.conf),
        new RegExp(`^net0: name=eth0,bridge=vmbr0,hwaddr=[0-9A-F][26AE](:[0-9A-F]{2}){5},`, "m"),
      );
      const ct = `${s.base}/ct`;
      pctExtract(out.template, ct);
      assert.equal(Deno.lstatSync(`${ct}/etc/resolv.conf`).isFile, true, "a file, not the image's symlink");
      assert.equal(Deno.readTextFileSync(`${ct}/etc/resolv.conf`), "nameserver 192.0.2.53\nsearch example.org\n");
      assert.match(Deno.readTextFileSync(`${ct}/etc/hosts`), /^127\.0\.0\.1\tlocalhost\n127\.0\.1\.1\tapp\n/);
      assert.equal(
        Deno.readTextFileSync(`${ct}/etc/passwd`),
        "root:x:0:0::/root:/bin/sh\n",
        "the rest of /etc is kept",
      );
      assert.equal(
        Deno.readLinkSync(`${s.rootfs}/etc/resolv.conf`),
        "../run/systemd/resolve/stub-resolv.conf",
        "rootfs unchanged",
      );
      assert.deepEqual(warnings.filter((w) => w.includes("resolv")), []);

      // Without a network interface there is nothing to resolve with: only /etc/hosts is generated.
      const quiet = await writePveOutput({
        rootfsDir: s.rootfs,
        plan: s.plan,
        outDir: `${s.base}/out2`,
        vmid: 141,
        pveVersion: "9.0",
        name: "app",
        hostResolvConf: hostResolv,
      });
      const m = new Map(readTar(unzstd(quiet.template)).members.map((x) => [latin1(x.entry.path), x]));
      assert.equal(m.get("./etc/resolv.conf")!.entry.type, "symlink");
      assert.equal(latin1(m.get("./etc/hosts")!.data).split("\n")[1], "127.0.1.1\tapp");
    } finally {
      s.done();
    }
  },
);
