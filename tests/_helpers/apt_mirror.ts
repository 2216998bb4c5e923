/**
 * The Debian mirror this host's apt uses, for debootstrap in the test
 * set-up (tests/_helpers/debian_rootfs.ts) and the benchmark image
 * (bench/bench_images.ts): a mirror the machine can reach is one apt
 * already reaches.
 *
 * @module
 */

/**
 * The first Debian archive URI for `suite` in one apt sources file: deb822
 * (`.sources`: Types/URIs/Suites stanzas, `Enabled: no` skipped) or one-line
 * (`deb URI suite …`). Security and third-party archives are skipped: the
 * URI must end in `/debian`.
 */
export function mirrorFromSources(fileName: string, text: string, suite = "bookworm"): string | undefined {
  const isDebian = (uri: string) => /^https?:\/\/\S+\/debian\/?$/.test(uri);
  if (fileName.endsWith(".sources")) {
    for (const stanza of text.replace(/^#.*$/gm, "").split(/\n\s*\n/)) {
      const field = (name: string) => stanza.match(new RegExp(`^${name}:\\s*(.+)$`, "mi"))?.[1]?.trim() ?? "";
      if (/^no$/i.test(field("Enabled"))) continue;
      if (!/\bdeb\b/.test(field("Types"))) continue;
      if (!field("Suites").split(/\s+/).includes(suite)) continue;
      const uri = field("URIs").split(/\s+/).find(isDebian);
      if (uri) return uri.replace(/\/$/, "");
    }
    return undefined;
  }
  for (const line of text.split("\n")) {
    const m = line.match(/^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)\s/);
    if (m?.[1] && m[2] === suite && isDebian(m[1])) return m[1].replace(/\/$/, "");
  }
  return undefined;
}

/** The Debian mirror apt is configured with for `suite`, or undefined when none is. */
export function aptMirror(suite = "bookworm"): string | undefined {
  const files: string[] = [];
  try {
    Deno.statSync("/etc/apt/sources.list");
    files.push("/etc/apt/sources.list");
  } catch {
    // no sources.list
  }
  try {
    for (const e of Deno.readDirSync("/etc/apt/sources.list.d")) {
      if (e.name.endsWith(".sources") || e.name.endsWith(".list")) files.push(`/etc/apt/sources.list.d/${e.name}`);
    }
  } catch {
    // no sources.list.d
  }
  for (const file of files.sort()) {
    const mirror = mirrorFromSources(file, Deno.readTextFileSync(file), suite);
    if (mirror !== undefined) return mirror;
  }
  return undefined;
}
