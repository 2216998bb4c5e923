/**
 * motd: a message of the day that says where a container came from (the
 * image reference, its config digest, its platform and the date of the
 * conversion), so whoever logs into a long-lived container can tell which
 * image it was made from.
 *
 * A worked example of a third-party plugin: one file, an `Options` interface,
 * `defaults`, a named factory and a default export (so `--plugin FILE` can
 * load it), and one hook of each kind a plugin author usually needs.
 *
 * | hook   | kind       | runs after                                  | runs before                |
 * | ------ | ---------- | ------------------------------------------- | -------------------------- |
 * | apply  | filter     | plan hooks (only with `systemOnly`)         | every hook of this plugin  |
 * | rootfs | sequential | the built-in rootfs hooks (`order: "post"`) | the LXC config render      |
 * | report | parallel   | the commit (DEST exists, unless a dry run)  | `convert()` returning      |
 *
 * @example Building it into a conversion
 * ```ts
 * import assert from "node:assert/strict";
 * import { builtinPlugins, convert } from "../../mod.ts";
 * import { motd } from "./motd_plugin.ts";
 * const dir = Deno.makeTempDirSync();
 * await convert("oci-archive:fixtures/images/busybox.oci.tar", `${dir}/app`, {
 *   plugins: [...builtinPlugins(), motd({ date: "2026-01-01", log: false })],
 *   allowApproximate: Deno.uid() !== 0, // a normal user cannot set owners: every file becomes theirs
 * });
 * assert.match(Deno.readTextFileSync(`${dir}/app/rootfs/etc/motd`), /^app: made by oci2lxc from an OCI image$/m);
 * Deno.removeSync(dir, { recursive: true });
 * ```
 *
 * @module
 */
import { type ConversionContext, definePlugin, Oci2LxcError, type Plugin } from "../../mod.ts";

/** Options of {@linkcode motd}. */
export interface MotdOptions {
  /** Where the message goes inside the container. */
  path?: string;
  /** Write it for system containers only (an init as argv[0]); app containers rarely show a login banner. */
  systemOnly?: boolean;
  /** Keep the image's own message and add ours after it, instead of replacing it. */
  append?: boolean;
  /** Conversion date as YYYY-MM-DD; today's (UTC) when undefined. Fix it for reproducible rootfs and tests. */
  date?: string | undefined;
  /** Where the report hook says what was written; stderr by default, `false` for silence. */
  log?: ((line: string) => void) | false;
}

/** Defaults of {@linkcode motd}. */
export const defaults = {
  path: "/etc/motd",
  systemOnly: false,
  append: true,
  date: undefined,
  log: (line: string) => console.error(line),
} satisfies MotdOptions;

/** What the message says. */
export interface MotdFacts {
  /** Container name. */
  name: string;
  /** The image reference as the user gave it. */
  reference: string;
  /** Digest of the image config: the image's identity. */
  configDigest: string;
  /** `os/arch[/variant]`. */
  platform: string;
  /** YYYY-MM-DD. */
  date: string;
}

/**
 * The message block. Values from the image or the command line pass through
 * {@linkcode printable}: a motd is shown on a terminal, so an escape sequence
 * in a reference must not reach it.
 */
export function renderMotd(facts: MotdFacts): string {
  return [
    `${printable(facts.name)}: made by oci2lxc from an OCI image`,
    `  image      ${printable(facts.reference)}`,
    `  config     ${printable(facts.configDigest)}`,
    `  platform   ${printable(facts.platform)}`,
    `  converted  ${facts.date}`,
    "",
  ].join("\n");
}

/** `text` with control characters (C0, DEL, C1) replaced by `?`. */
export function printable(text: string): string {
  let out = "";
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    out += c < 0x20 || (c >= 0x7f && c <= 0x9f) ? "?" : ch;
  }
  return out;
}

/** The motd plugin. */
export function motd(options: MotdOptions = {}): Plugin<ConversionContext> {
  const resolved = { ...defaults, ...options };
  // Fail when the plugin is built, not halfway through a conversion.
  if (!resolved.path.startsWith("/")) {
    throw new Oci2LxcError("plugin", `Cannot use plugin "motd": path ${JSON.stringify(resolved.path)} is not absolute`);
  }
  if (resolved.date !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(resolved.date)) {
    throw new Oci2LxcError(
      "plugin",
      `Cannot use plugin "motd": date ${JSON.stringify(resolved.date)} is not YYYY-MM-DD`,
    );
  }
  // One plugin object may serve several conversions at once: keep per-conversion state by context.
  const written = new WeakMap<ConversionContext, { bytes: number; kept: boolean }>();
  return definePlugin<ConversionContext>({
    name: "motd",
    // After the built-ins: the message describes the finished rootfs.
    order: "post",
    // `options` is what `oci2lxc plugins` shows; functions would print as nothing.
    options: { path: resolved.path, systemOnly: resolved.systemOnly, append: resolved.append, date: resolved.date },
    // Without `apply` the plugin always takes part. apply is asked before every hook, detectDistro
    // included, when no plan exists yet: hence `plan?.`.
    ...(resolved.systemOnly ? { apply: (context: ConversionContext) => context.plan?.kind === "system" } : {}),
    rootfs(context) {
      const block = renderMotd({
        name: context.name,
        reference: context.image.reference,
        configDigest: context.image.config.digest,
        platform: [context.image.platform.os, context.image.platform.architecture, context.image.platform.variant]
          .filter(Boolean).join("/"),
        date: resolved.date ?? new Date().toISOString().slice(0, 10),
      });
      const existing = resolved.append ? context.rootfs.readText(resolved.path) : undefined;
      const kept = existing !== undefined && existing.trim() !== "";
      const text = kept ? `${existing.replace(/\n*$/, "\n")}\n${block}` : block;
      // writeFile replaces a symlink at the path instead of writing through it.
      context.rootfs.writeFile(resolved.path, text, { mode: 0o644 });
      written.set(context, { bytes: new TextEncoder().encode(text).length, kept });
    },
    report(context) {
      const done = written.get(context);
      if (!done || resolved.log === false) return;
      const where = `${context.dest}/rootfs${resolved.path}`;
      const verb = context.options.dryRun ? "would write" : "wrote";
      resolved.log(
        `motd: ${verb} ${where} (${done.bytes} bytes${done.kept ? ", after the image's own message" : ""})`,
      );
    },
  });
}

export default motd;
