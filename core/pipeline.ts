/**
 * The one place that knows the stages of a conversion and their order:
 *
 * 1. resolve the reference and open the image (manifest for the platform);
 * 2. verify the index, manifest and config (done while opening);
 * 3. assemble the layers into a staging directory beside DEST (for a dry
 *    run, in the system's temp dir), each layer verified (digest and
 *    diff_id) in the same pass that writes it;
 * 4. detect the distribution and plan the container (plugins: detectDistro, plan);
 * 5. set up the rootfs (plan directories; plugins: rootfs);
 * 6. configure: render the LXC config (plugins: config) and write it;
 * 7. commit: rename staging into DEST; any failure before removes staging;
 * 8. report (plugins: report).
 *
 * @module
 */
import { basename, dirname, join } from "node:path";
import { openAsync } from "./open.ts";
import { type AssembleResult, assembleRootfs, isReorderMismatch, reorderLayers } from "./assemble.ts";
import type { ConfigAdditions, ConversionContext, ConversionReport, ConvertOptions, DistroInfo } from "./conversion.ts";
import { Oci2LxcError, throwIfInterrupted } from "./errors.ts";
import { letEventLoopRun } from "./event_loop_pause.ts";
import type { Image, ImageLayer } from "./image/image.ts";
import { formatPlatform } from "./image/platform.ts";
import { detectLxcVersion } from "./lxc/host_lxc.ts";
import { renderLxcConfig } from "./lxc/lxc_config.ts";
import { environmentKeyFor, parseLxcVersion } from "./lxc/lxc_version.ts";
import { LxcConfigWriter } from "./lxc/lxc_config_writer.ts";
import { makePlan } from "./plan/make_plan.ts";
import { PluginRunner } from "./plugin.ts";
import { RootfsAccess } from "./rootfs/rootfs_access.ts";
import { createStaging, type Staging } from "./rootfs/staging.ts";
import { guardDestination } from "./rootfs/dest_guard.ts";
import { claimDestination, type DestClaim } from "./rootfs/dest_claim.ts";
import { geteuid } from "./native/libc.ts";
import { writePveOutput } from "./pve/pve_output.ts";

const UNMANAGED: DistroInfo = { id: "unmanaged", like: [], version: undefined, families: [] };

/**
 * Convert the image `reference` into an LXC container directory `dest`
 * (DEST/config and DEST/rootfs). Nothing is written outside DEST's parent
 * directory, and DEST appears only complete: a failure leaves it as it was.
 */
export async function convertImage(
  reference: string,
  dest: string,
  options: ConvertOptions = {},
): Promise<ConversionReport> {
  const started = performance.now();
  const timings: Record<string, number> = {};
  let mark = started;
  const lap = (stage: string) => {
    const now = performance.now();
    timings[stage] = Math.round(now - mark);
    mark = now;
  };
  const pve = options.format === "pve";
  const { absDest } = guardDestination(dest, {
    force: options.force,
    replaceAny: options.replaceAny,
    format: options.format,
    dryRun: options.dryRun,
  });
  const name = options.name ?? basename(absDest);
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(name)) {
    throw new Oci2LxcError("usage", `Cannot use container name "${name}": use letters, digits, "_", "." and "-"`, {
      hint: "Pass --name, or choose a DEST whose last component is a valid name",
    });
  }
  if (pve && (options.vmid === undefined || !Number.isInteger(options.vmid) || options.vmid < 100)) {
    throw new Oci2LxcError("usage", "Cannot write Proxmox VE output without a container id", {
      hint: "Pass --vmid N (100 or more), the id you will give pct create",
    });
  }
  const approximate = geteuid() !== 0;
  if (approximate && !options.allowApproximate) {
    throw new Oci2LxcError(
      "usage",
      "Cannot convert as a normal user without approximating: file owners cannot be set and device nodes cannot be made",
      { hint: "Run as root, or pass --allow-approximate to keep going with your own uid and no devices" },
    );
  }
  const warnings: string[] = [];
  const warn = (message: string) => {
    warnings.push(message);
    options.onWarning?.(message);
  };
  if (approximate) warn("running as a normal user: file owners are not applied and device nodes are skipped");
  // Between stages the listeners get their turn, so Ctrl-C at any time before the commit cancels.
  const checkAbort = async (before: string) => {
    if (options.signal) await letEventLoopRun();
    throwIfInterrupted(options.signal, "finish the conversion", `before ${before}`);
  };

  // Before the image is opened: a bad plugin list must not leave an unpacked archive behind.
  const runner = new PluginRunner<ConversionContext>(options.plugins ?? []);
  options.onProgress?.({ stage: "open" });
  // A dry run writes nothing near DEST: it stages (and unpacks a compressed archive) in the system's temp dir.
  const claim: DestClaim | undefined = options.dryRun ? undefined : await claimDestination(absDest, {
    wait: options.wait,
    signal: options.signal,
    onWarning: warn,
    onWait: (message) => options.onWarning?.(message),
  });
  let image: Image;
  try {
    image = await openAsync(reference, {
      platform: options.platform,
      tempDir: claim?.dir,
      tempName: claim?.unpackName,
      signal: options.signal,
    });
  } catch (err) {
    claim?.release(true);
    throw err;
  }
  let staging: Staging | undefined;
  let rootfs: RootfsAccess | undefined;
  let dryRunDir: string | undefined;
  try {
    for (const w of image.warnings) warn(w);
    lap("open");
    if (options.dryRun) dryRunDir = Deno.makeTempDirSync({ prefix: "oci2lxc-dry-run-" });
    await checkAbort("the layers");
    // 3. assemble, re-pairing layers by content if the archive lists them out of order.
    let layers: readonly ImageLayer[] = image.layers;
    let assembled: AssembleResult;
    const assemble = () => {
      staging = createStaging(dryRunDir === undefined ? absDest : join(dryRunDir, name));
      return assembleRootfs(layers, join(staging.path, "rootfs"), {
        idmap: options.idmap,
        approximate,
        onWarning: warn,
        signal: options.signal,
        onProgress: (p) => options.onProgress?.({ stage: "assemble", ...p }),
      });
    };
    try {
      assembled = await assemble();
    } catch (err) {
      if (!isReorderMismatch(err, image)) throw err;
      staging!.abort();
      warn("the archive lists its layers in another order than the config's diff_ids; applying them in diff_ids order");
      layers = await reorderLayers(image, options.signal);
      assembled = { ...(await assemble()), reordered: true };
    }
    lap("assemble");
    await checkAbort("the plan");

    // 4. distro and plan.
    const stagingDir = staging!.path;
    rootfs = new RootfsAccess(join(stagingDir, "rootfs"), { idmap: options.idmap });
    const extra = new LxcConfigWriter();
    const additions: ConfigAdditions = {
      add: (key, value) => extra.entry(key, value, `a line from a plugin (${key})`),
      comment: (text) => extra.comment(text),
    };
    const report = emptyReport(reference, absDest, name, options, image, assembled, warnings);
    const context: ConversionContext = {
      image,
      options,
      dest: absDest,
      name,
      stagingDir,
      rootfs,
      distro: UNMANAGED,
      plan: undefined as never, // set below, before any hook that may read it
      config: additions,
      files: new Map(),
      report,
      warn,
    };
    const detected = await runner.first<DistroInfo>("detectDistro", context);
    context.distro = detected?.value ?? UNMANAGED;
    context.plan = makePlan(image.config.value, image.platform, rootfs, {
      name,
      ...(options.entrypoint ? { entrypoint: options.entrypoint } : {}),
      ...(options.cmd ? { cmd: options.cmd } : {}),
      ...(options.env ? { env: options.env } : {}),
      ...(options.user !== undefined ? { user: options.user } : {}),
      ...(options.workdir !== undefined ? { workdir: options.workdir } : {}),
      ...(options.stopSignal !== undefined ? { stopSignal: options.stopSignal } : {}),
      ...(options.volumes ? { volumes: options.volumes } : {}),
      ...(options.idmap ? { idmap: options.idmap } : {}),
    });
    const ran = new Map<string, string[]>();
    const record = (hook: string, names: string[]) => {
      for (const n of names) ran.set(n, [...(ran.get(n) ?? []), hook]);
    };
    if (detected) record("detectDistro", [detected.plugin]);
    record("plan", await runner.sequential("plan", context));
    for (const w of context.plan.warnings) warn(w);
    options.onProgress?.({ stage: "plan" });
    lap("plan");
    await checkAbort("setting up the rootfs");

    // 5. set up the rootfs.
    for (const d of context.plan.directories) {
      if (!rootfs.exists(d.path)) rootfs.mkdir(d.path, { mode: d.mode, uid: d.uid, gid: d.gid });
    }
    record("rootfs", await runner.sequential("rootfs", context));
    for (const [relative, file] of context.files) writeBeside(stagingDir, relative, file.data, file.mode);
    options.onProgress?.({ stage: "setup" });
    lap("setup");
    await checkAbort("writing the config");

    if (pve) {
      // Proxmox VE output: a template and a conf in the directory DEST instead of an LXC container directory.
      rootfs.close();
      rootfs = undefined;
      const out = options.dryRun ? undefined : writePveOutput({
        rootfsDir: join(stagingDir, "rootfs"),
        plan: context.plan,
        outDir: absDest,
        vmid: options.vmid!,
        pveVersion: options.pveVersion ?? "8",
        name,
        idmap: options.idmap,
        net: options.net,
        header: [`Made by oci2lxc from ${reference}`, `config ${image.config.digest}`],
        onWarning: warn,
      });
      staging!.abort();
      lap("configure");
      fillReport(report, context, [...ran].map(([plugin, hooks]) => ({ name: plugin, hooks })));
      if (out) {
        report.paths = { dest: absDest, config: out.conf, rootfs: out.template };
        report.pve = {
          template: out.template,
          conf: out.conf,
          include: out.include ?? null,
          includeTarget: out.includeTarget ?? null,
          steps: out.steps,
        };
      }
      timings.total = Math.round(performance.now() - started);
      report.timings = timings;
      await runner.parallel("report", context);
      return report;
    }

    // 6. configure.
    const lxcVersion = options.lxcVersion ?? detectLxcVersion();
    let text = renderLxcConfig(context.plan, {
      rootfsPath: join(absDest, "rootfs"),
      name,
      ...(lxcVersion ? { lxcVersion } : {}),
      environmentKey: environmentKeyFor(lxcVersion ? parseLxcVersion(lxcVersion) : undefined),
      onWarning: warn,
      header: [
        `Made by oci2lxc from ${reference}`,
        `image ${formatPlatform(image.platform)}, config ${image.config.digest}`,
      ],
    });
    record("config", await runner.sequential("config", context));
    if (extra.lines.length > 0) text += `\n# Added by plugins\n${extra.toString()}`;
    Deno.writeTextFileSync(join(stagingDir, "config"), text, { mode: 0o644 });
    options.onProgress?.({ stage: "configure" });
    lap("configure");
    await checkAbort("the commit");

    // 7. commit.
    rootfs.close();
    rootfs = undefined;
    if (options.dryRun) staging!.abort();
    else {
      const { leftover, problem } = await staging!.commit(options.force ?? false, { signal: options.signal });
      // The new container is in place: a failed clean-up of the old one is a warning, not a failed conversion.
      if (leftover !== undefined) {
        warn(
          `the new container is in place in ${absDest}, but the old one could not be removed completely (${problem}); ` +
            `what is left is ${leftover}: the next conversion into ${absDest} removes it, or remove it by hand`,
        );
      }
    }
    options.onProgress?.({ stage: "commit" });
    lap("commit");

    // 8. report.
    fillReport(report, context, [...ran].map(([plugin, hooks]) => ({ name: plugin, hooks })));
    timings.total = Math.round(performance.now() - started);
    report.timings = timings;
    await runner.parallel("report", context);
    return report;
  } catch (err) {
    rootfs?.close();
    // With pauses: a second Ctrl-C during a long clean-up ends the process at once, as README says.
    await (staging as Staging | undefined)?.abortAsync();
    image.close(); // the unpacked archive goes before the directories this run created
    claim?.release(true);
    throw err;
  } finally {
    image.close();
    claim?.release(false);
    // Empty by now (the staging directory was aborted); recursive only as a safety net.
    if (dryRunDir !== undefined) Deno.removeSync(dryRunDir, { recursive: true });
  }
}

/** Write a generated file beside the rootfs (our own directory: no image symlinks to follow). */
function writeBeside(stagingDir: string, relative: string, data: string, mode: number): void {
  if (relative.startsWith("/") || relative.split("/").some((p) => p === ".." || p === "" || p === ".")) {
    throw new Oci2LxcError("plugin", `Cannot write ${relative} beside the rootfs: use a relative path without ".."`);
  }
  if (relative === "rootfs" || relative.startsWith("rootfs/") || relative === "config") {
    throw new Oci2LxcError("plugin", `Cannot write ${relative} beside the rootfs: that name is the container's own`);
  }
  const path = join(stagingDir, relative);
  Deno.mkdirSync(dirname(path), { recursive: true });
  Deno.writeTextFileSync(path, data, { mode });
  Deno.chmodSync(path, mode);
}

function emptyReport(
  reference: string,
  dest: string,
  name: string,
  options: ConvertOptions,
  image: Image,
  assembled: AssembleResult,
  warnings: string[],
): ConversionReport {
  return {
    schemaVersion: 1,
    reference,
    dest,
    name,
    dryRun: options.dryRun ?? false,
    image: {
      transport: image.transport,
      refName: image.refName ?? null,
      platform: formatPlatform(image.platform),
      manifestDigest: image.manifest.digest,
      configDigest: image.config.digest,
      layers: assembled.layers,
      reordered: assembled.reordered,
    },
    container: undefined as never,
    fields: [],
    distro: UNMANAGED,
    plugins: [],
    warnings,
    rootfs: assembled.stats,
    paths: { dest, config: join(dest, "config"), rootfs: join(dest, "rootfs") },
    timings: {},
    bytesRead: assembled.layers.reduce((n, l) => n + l.size, 0),
    bytesWritten: assembled.bytesWritten,
    layerReader: assembled.readInWorker ? "worker" : "thread",
  };
}

function fillReport(report: ConversionReport, context: ConversionContext, plugins: ConversionReport["plugins"]): void {
  const plan = context.plan;
  report.container = {
    kind: plan.kind,
    argv: [...plan.argv],
    env: plan.env.map(([k, v]) => [k, v]),
    user: {
      uid: plan.user.uid,
      gid: plan.user.gid,
      groups: [...plan.user.groups],
      name: plan.user.name ?? null,
      home: plan.user.home,
    },
    cwd: plan.cwd,
    stopSignal: plan.stopSignal,
    network: plan.network.map((n) => ({ type: n.type, keys: n.keys.map(([k, v]) => [k, v]) })),
    mounts: plan.mounts.map((m) => ({ ...m })),
    volumes: plan.volumes.map((v) => v.path),
    idmap: plan.idmap ?? null,
  };
  report.fields = [...plan.fields];
  report.distro = context.distro;
  report.plugins = plugins;
}
