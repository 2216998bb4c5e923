/**
 * `oci2lxc pull IMAGE TARGET`: copy a registry image into an OCI archive or layout directory, verified, for tools that
 * read those (skopeo, podman, umoci, Proxmox VE 9.1's template upload) or for later conversions without the network.
 *
 * @module
 */
import { pull } from "../core/api.ts";
import { messageLine } from "../core/errors.ts";
import type { Command } from "./commands.ts";
import { formatBytes } from "./format_bytes.ts";
import { withInterrupt } from "./interrupt.ts";
import { printErr, printOut } from "./output.ts";
import { readStdinText } from "./registry_options.ts";
import { FETCH_OPTIONS, fetchOptionValues } from "./fetch_options.ts";

/** The pull command. */
export const pullCommand: Command = {
  name: "pull",
  summary: "copy a registry image into an OCI archive or layout directory, verified",
  usage:
    "oci2lxc pull IMAGE TARGET [--platform OS/ARCH[/VARIANT] | --all] [--force [--replace-any]] [REGISTRY OPTIONS]",
  description: [
    "IMAGE is docker://[HOST[:PORT]/]NAME[:TAG][@DIGEST] (Docker Hub's rules: no host",
    "means docker.io, a one-part name gets library/, no tag means latest). TARGET is",
    "oci-archive:FILE[:REF] (a tar) or oci:DIR[:REF] (a layout directory; an existing",
    "layout keeps its other images). REF names the image in index.json; by default the",
    "tag. Every manifest and blob is checked against its digest and size while it is",
    "written, and kept byte for byte, except that a Docker schema 2 manifest is written",
    "as the OCI manifest it maps to (as skopeo does). Nothing shows at TARGET until the",
    "copy is complete: a failure or Ctrl-C (exit 130) leaves TARGET as it was. An existing",
    "FILE is replaced only with --force, and only if it is an OCI archive (a tar with",
    "index.json and oci-layout) unless --replace-any is given too.",
    "",
    "From a multi-platform image the host's platform (or --platform) is copied, as",
    "skopeo does; --all copies the index and every platform.",
    "",
    "Credentials: --creds USER with --password-stdin, --authfile FILE, then",
    "REGISTRY_AUTH_FILE, $XDG_RUNTIME_DIR/containers/auth.json,",
    "~/.config/containers/auth.json, $DOCKER_CONFIG/config.json or ~/.docker/config.json",
    "(credential helpers too). TLS: the system's CAs, --cert-dir DIR, or",
    "/etc/containers/certs.d/HOST:PORT/; --tls-verify=false allows plain http.",
  ].join("\n"),
  examples: [
    "oci2lxc pull docker://debian:12 oci-archive:debian.tar",
    "oci2lxc pull docker://registry.example.com:5000/app:1.2 oci:./images:app --creds me --password-stdin",
    "oci2lxc pull docker://busybox oci-archive:busybox.tar --all",
  ],
  options: {
    platform: { type: "string", value: "OS/ARCH[/VARIANT]", help: "Platform to copy (default: this host's)" },
    all: { type: "boolean", help: "Copy every platform of a multi-platform image, and its index" },
    force: {
      type: "boolean",
      help: "Replace an existing oci-archive FILE if it is an OCI archive, once the copy is complete",
    },
    "replace-any": { type: "boolean", help: "With --force: replace FILE even if it is no OCI archive (or a symlink)" },
    ...FETCH_OPTIONS,
    json: { type: "boolean", help: "Print what was copied as JSON" },
    quiet: { type: "boolean", short: "q", help: "Do not print each blob to stderr" },
  },
  positionals: [2, 2],
  positionalNames: ["IMAGE", "TARGET"],
  async run(args) {
    const registry = await fetchOptionValues(args.values, {
      readStdin: readStdinText,
      onWarning: (w) => printErr(`warning: ${messageLine(w)}`),
    });
    const quiet = args.values.quiet === true || args.values.json === true;
    const result = await withInterrupt((signal) =>
      pull(args.positionals[0]!, args.positionals[1]!, {
        ...registry,
        platform: args.values.platform as string | undefined,
        all: args.values.all === true,
        force: args.values.force === true,
        replaceAny: args.values["replace-any"] === true,
        signal,
        onWarning: (w) => printErr(`warning: ${messageLine(w)}`),
        onBlob: quiet ? undefined : (b) => printErr(`copied ${b.what} ${b.digest} (${formatBytes(b.size)})`),
      })
    );
    if (args.values.json) printOut(JSON.stringify(result, null, 2));
    else {
      printOut(
        `pulled ${result.reference} (${result.digest}, ${result.platforms.join(", ")}) to ${result.target}: ` +
          `${result.blobs} blobs, ${formatBytes(result.bytes)}`,
      );
    }
    return 0;
  },
};
