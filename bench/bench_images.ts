/**
 * Builds (once) and finds (every run) the benchmark images, cached outside
 * the repository: a `debootstrap --variant=minbase bookworm` base layer and
 * two application layers with whiteouts, as gzip and zstd oci-archives, at
 * 1× and 4× size.
 *
 * Layer 1 is the debootstrap tree cleaned like Debian's official image
 * (no apt lists, no .debs, empty /dev). Layer 2 installs an application:
 * many small files under /opt/app and /usr/local, one large binary, an
 * edited /etc/passwd, and whiteouts for half of /usr/share/doc and most of
 * /usr/share/locale. Layer 3 changes what layer 2 installed: rewritten
 * files, a replaced binary, a hardlink, a chmod/chown of /opt/app, whiteouts
 * of layer-2 directories and two opaque directories.
 *
 * The 4× image has the same three layers, each holding its 1× content plus
 * three copies of it under `srv/scale/{1,2,3}/` (whiteouts included, so they
 * act on the matching copies): four times the entries and bytes, same layer
 * count. Layer tars are written by GNU tar in pax format with whole-second
 * times (what Go's archive/tar writes for Docker and BuildKit), then added
 * with `umoci raw add-layer` (gzip) and recompressed by `skopeo copy
 * --dest-compress-format zstd`.
 *
 * @module
 */

import { aptMirror } from "../tests/_helpers/apt_mirror.ts";
import { bash, exists, q, removeTree, run } from "./shell.ts";

/** Bump when the recipe changes: a cache built by another recipe is rebuilt. */
export const RECIPE_VERSION = 2;

/** The images one benchmark run uses. */
export interface BenchImages {
  cacheDir: string;
  /** Where the base came from: the debootstrap mirror, or "synthetic (…)" when no mirror answered. */
  baseSource: string;
  variants: BenchVariant[];
}

/** One size of the image (1× or 4×), in both compressions. */
export interface BenchVariant {
  /** "1x" or "4x". */
  scale: string;
  gzip: ImageFiles;
  zstd: ImageFiles;
  /** Uncompressed tar bytes of all layers together. */
  tarBytes: number;
  /** Tar entries over all layers. */
  entries: number;
}

/** One image in one compression, as an archive and as an OCI directory. */
export interface ImageFiles {
  /** The oci-archive file (what `convert` and `skopeo copy` read). */
  archive: string;
  /** An OCI layout directory with the same blobs (what `umoci unpack` reads). */
  ociDir: string;
  /** Tag inside both. */
  tag: string;
  compression: "gzip" | "zstd";
  /** Layer blob files, in order (what the tar floor reads). */
  layers: string[];
  /** Compressed bytes of all layers. */
  compressedBytes: number;
}

/** Options for {@linkcode ensureImages}. */
export interface EnsureImagesOptions {
  /** Throw the cache away and build again. */
  rebuild?: boolean;
  /** Print progress of a build. */
  log?: (line: string) => void;
}

const TAG = "bench";

/** The cache directory: $OCI2LXC_BENCH_CACHE, else $XDG_CACHE_HOME/oci2lxc-bench, else /var/cache/oci2lxc-bench. */
export function defaultCacheDir(): string {
  const explicit = Deno.env.get("OCI2LXC_BENCH_CACHE");
  if (explicit) return explicit;
  const xdg = Deno.env.get("XDG_CACHE_HOME");
  return xdg ? `${xdg}/oci2lxc-bench` : "/var/cache/oci2lxc-bench";
}

interface Stamp {
  recipe: number;
  baseSource: string;
  variants: BenchVariant[];
}

/**
 * Return the cached images, building what is missing. A build takes a few
 * minutes (debootstrap, then gzip and zstd of 1× and 4× layers).
 */
export function ensureImages(cacheDir: string, options: EnsureImagesOptions = {}): BenchImages {
  const log = options.log ?? (() => {});
  const stampPath = `${cacheDir}/images.json`;
  if (!options.rebuild && exists(stampPath)) {
    const stamp = JSON.parse(Deno.readTextFileSync(stampPath)) as Stamp;
    const complete = stamp.variants.every((v) =>
      [v.gzip, v.zstd].every((f) => exists(f.archive) && f.layers.every(exists))
    );
    if (stamp.recipe === RECIPE_VERSION && complete) {
      return { cacheDir, baseSource: stamp.baseSource, variants: stamp.variants };
    }
    log("cache is stale or incomplete: rebuilding the images");
  }
  Deno.mkdirSync(cacheDir, { recursive: true });
  removeTree(stampPath);
  const base = `${cacheDir}/base`;
  const baseSource = ensureBase(base, options.rebuild ?? false, log);
  const layer2 = `${cacheDir}/layer2`;
  const layer3 = `${cacheDir}/layer3`;
  log("making layer 2 (application install with whiteouts)");
  makeLayer2(base, layer2);
  log("making layer 3 (modifications, opaque directories)");
  makeLayer3(layer2, layer3);
  const variants: BenchVariant[] = [];
  for (const copies of [1, 4]) {
    variants.push(buildVariant(cacheDir, [base, layer2, layer3], copies, log));
  }
  const stamp: Stamp = { recipe: RECIPE_VERSION, baseSource, variants };
  Deno.writeTextFileSync(stampPath, JSON.stringify(stamp, null, 2) + "\n");
  return { cacheDir, baseSource, variants };
}

// --- layer 1: debootstrap -----------------------------------------------------

function ensureBase(base: string, rebuild: boolean, log: (line: string) => void): string {
  const doneMark = `${base}.source`;
  if (!rebuild && exists(doneMark) && exists(base)) return Deno.readTextFileSync(doneMark).trim();
  removeTree(base);
  removeTree(doneMark);
  const tmp = `${base}.tmp`;
  removeTree(tmp);
  let source: string;
  const mirror = aptMirror() ?? "http://deb.debian.org/debian";
  try {
    log(`debootstrap --variant=minbase bookworm from ${mirror}`);
    run(["debootstrap", "--variant=minbase", "bookworm", tmp, mirror]);
    source = `debootstrap --variant=minbase bookworm ${mirror}`;
  } catch (err) {
    log(`debootstrap failed (${(err as Error).message.split("\n")[0]}); using a synthetic tree copied from this host`);
    removeTree(tmp);
    syntheticBase(tmp);
    source = "synthetic (copy of this host's /etc, /usr/bin, /usr/sbin, /usr/share/perl, /usr/share/doc)";
  }
  // What Debian's official image leaves out: apt lists, downloaded .debs, device nodes.
  bash(`cd ${q(tmp)}
    rm -rf var/lib/apt/lists/* var/cache/apt/*.bin var/cache/apt/archives/*.deb dev/* proc/* sys/*
    mkdir -p var/lib/apt/lists/partial`);
  Deno.renameSync(tmp, base);
  Deno.writeTextFileSync(doneMark, source + "\n");
  return source;
}

function syntheticBase(dir: string): void {
  bash(`mkdir -p ${q(dir)}/usr/share ${q(dir)}/var/lib ${q(dir)}/dev ${q(dir)}/proc ${q(dir)}/sys ${q(dir)}/tmp
    cd ${q(dir)}
    cp -a /etc .
    cp -a /usr/bin /usr/sbin usr/
    for d in /usr/share/perl /usr/share/doc /usr/share/locale; do [ -d "$d" ] && cp -a "$d" usr/share/; done
    ln -s usr/bin bin; ln -s usr/sbin sbin
    chmod 1777 tmp`);
}

// --- layers 2 and 3 -------------------------------------------------------------

/** Copy `src` to `dest` if it exists, else write `count` small files of about `size` bytes there. */
function copyOrGenerate(src: string, dest: string, count: number, size: number): string {
  if (exists(src)) {
    return `mkdir -p ${q(dest)} && cp -a ${q(src)}/. ${q(dest)}/`;
  }
  return `mkdir -p ${q(dest)} && for i in $(seq 1 ${count}); do d=${q(dest)}/pkg$((i % 97));
    mkdir -p "$d"; head -c ${size} /usr/bin/env | od -An -tx1 | head -c ${size} > "$d/mod$i.txt"; done`;
}

function makeLayer2(base: string, dir: string): void {
  removeTree(dir);
  const bigBinary = ["/usr/bin/umoci", "/usr/bin/skopeo", "/usr/bin/bash"].find(exists) ?? "/bin/sh";
  bash(`mkdir -p ${q(dir)} && cd ${q(dir)}
    ${copyOrGenerate("/usr/lib/python3.11", "opt/app/lib/python3.11", 1500, 30000)}
    ${copyOrGenerate("/usr/lib/node_modules/npm", "opt/app/node_modules/npm", 2400, 8000)}
    ${copyOrGenerate("/usr/include/linux", "usr/local/include/linux", 790, 8000)}
    mkdir -p opt/app/bin usr/local/bin etc
    cp ${q(bigBinary)} opt/app/bin/app
    ln -s ../../../opt/app/bin/app usr/local/bin/app
    cp -a ${q(base)}/etc/passwd ${q(base)}/etc/group etc/
    echo 'app:x:1000:1000:app:/opt/app:/usr/sbin/nologin' >> etc/passwd
    echo 'app:x:1000:' >> etc/group
    chown -R 1000:1000 opt/app/node_modules
    # Whiteouts: every second /usr/share/doc package, all but English locales.
    mkdir -p usr/share/doc usr/share/locale var/log
    i=0; for d in $(ls ${q(base)}/usr/share/doc); do
      i=$((i + 1)); [ $((i % 2)) -eq 0 ] && touch "usr/share/doc/.wh.$d"; done
    for d in $(ls ${q(base)}/usr/share/locale); do
      case "$d" in en*|locale.alias) ;; *) [ -d ${
    q(base)
  }/usr/share/locale/"$d" ] && touch "usr/share/locale/.wh.$d";; esac; done
    [ -e ${q(base)}/var/log/dpkg.log ] && touch var/log/.wh.dpkg.log
    # Directory times that differ from the base, as an install leaves them.
    find . -type d -exec touch -d @1700000000 {} +
    true`);
}

function makeLayer3(layer2: string, dir: string): void {
  removeTree(dir);
  const py = `${layer2}/opt/app/lib/python3.11`;
  bash(`mkdir -p ${q(dir)} && cd ${q(dir)}
    mkdir -p opt/app/lib/python3.11 opt/app/bin usr/local/bin usr/local/include/linux etc/apt/sources.list.d
    # Rewritten files: 300 modules get a patch line.
    n=0; for f in $(cd ${q(py)} && find . -maxdepth 2 -name '*.py' -type f | sort | head -300); do
      mkdir -p "opt/app/lib/python3.11/$(dirname "$f")"
      { cat ${q(py)}/"$f"; echo '# patched by layer 3'; } > "opt/app/lib/python3.11/$f"; n=$((n + 1)); done
    # A replaced binary and a hardlink to it.
    { cat ${q(layer2)}/opt/app/bin/app; echo 'layer 3'; } > opt/app/bin/app
    chmod 755 opt/app/bin/app
    ln opt/app/bin/app usr/local/bin/app-hard
    # Whiteouts of what layer 2 installed.
    [ -d ${q(py)}/test ] && touch opt/app/lib/python3.11/.wh.test
    [ -d ${q(py)}/ensurepip ] && touch opt/app/lib/python3.11/.wh.ensurepip
    [ -d ${q(layer2)}/usr/local/include/linux/netfilter ] && touch usr/local/include/linux/.wh.netfilter
    # Opaque directories: one from layer 2, one from the base.
    mkdir -p opt/app/lib/python3.11/email
    touch opt/app/lib/python3.11/email/.wh..wh..opq
    for i in 1 2 3; do echo "replacement $i" > opt/app/lib/python3.11/email/part$i.py; done
    touch etc/apt/sources.list.d/.wh..wh..opq
    echo 'deb http://deb.debian.org/debian bookworm main' > etc/apt/sources.list.d/app.list
    # Metadata-only change of a layer-2 directory.
    chown 1000:1000 opt/app && chmod 750 opt/app
    find . -type d -exec touch -d @1700100000 {} +`);
}

// --- tars and images ----------------------------------------------------------

const TAR_FLAGS = [
  "--format=pax",
  // Whole-second times and no atime/ctime records: what Go's archive/tar writes.
  "--pax-option=delete=atime,delete=ctime,delete=mtime,exthdr.name=%d/PaxHeaders/%f",
  "--sort=name",
  "--numeric-owner",
  "--xattrs",
  "--xattrs-include=*",
].map(q).join(" ");

/** Write `dir` as a layer tar; with `copies` > 1, append copies under srv/scale/N/. */
function layerTar(dir: string, out: string, copies: number): void {
  const names = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
  const list = names.map(q).join(" ");
  let script = `cd ${q(dir)} && tar ${TAR_FLAGS} -cf ${q(out)} -- ${list}\n`;
  for (let i = 1; i < copies; i++) {
    // Prefix member names and hardlink targets, not symlink targets (S).
    script += `tar ${TAR_FLAGS} --transform ${q(`s,^,srv/scale/${i}/,S`)} -rf ${q(out)} -- ${list}\n`;
  }
  bash(script);
}

function buildVariant(cacheDir: string, dirs: string[], copies: number, log: (line: string) => void): BenchVariant {
  const scale = `${copies}x`;
  const tars = `${cacheDir}/tars-${scale}`;
  removeTree(tars);
  Deno.mkdirSync(tars, { recursive: true });
  let tarBytes = 0;
  let entries = 0;
  const ociGzip = `${cacheDir}/oci-${scale}-gzip`;
  removeTree(ociGzip);
  run(["umoci", "init", "--layout", ociGzip]);
  run(["umoci", "new", "--image", `${ociGzip}:${TAG}`]);
  dirs.forEach((dir, i) => {
    const tar = `${tars}/layer${i + 1}.tar`;
    log(`${scale}: layer ${i + 1}: tar`);
    layerTar(dir, tar, copies);
    tarBytes += Deno.statSync(tar).size;
    entries += Number(bash(`tar -tf ${q(tar)} | wc -l`).trim());
    log(`${scale}: layer ${i + 1}: umoci raw add-layer (gzip)`);
    run([
      "umoci",
      "raw",
      "add-layer",
      "--image",
      `${ociGzip}:${TAG}`,
      "--history.created_by",
      `oci2lxc bench layer ${i + 1}`,
      tar,
    ]);
  });
  run([
    "umoci",
    "config",
    "--image",
    `${ociGzip}:${TAG}`,
    "--config.cmd",
    "/bin/bash",
    "--config.env",
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
  ]);
  run(["umoci", "gc", "--layout", ociGzip]);
  removeTree(tars);
  const images = `${cacheDir}/images`;
  Deno.mkdirSync(images, { recursive: true });
  const gzipArchive = `${images}/bench-${scale}-gzip.tar`;
  const zstdArchive = `${images}/bench-${scale}-zstd.tar`;
  const ociZstd = `${cacheDir}/oci-${scale}-zstd`;
  for (const f of [gzipArchive, zstdArchive, ociZstd]) removeTree(f);
  log(`${scale}: skopeo copy → gzip oci-archive`);
  run(["skopeo", "copy", "--quiet", `oci:${ociGzip}:${TAG}`, `oci-archive:${gzipArchive}:${TAG}`]);
  log(`${scale}: skopeo copy → zstd oci-archive`);
  run([
    "skopeo",
    "copy",
    "--quiet",
    "--dest-compress-format",
    "zstd",
    `oci:${ociGzip}:${TAG}`,
    `oci-archive:${zstdArchive}:${TAG}`,
  ]);
  run(["skopeo", "copy", "--quiet", `oci-archive:${zstdArchive}:${TAG}`, `oci:${ociZstd}:${TAG}`]);
  const gzip = describe(gzipArchive, ociGzip, "gzip");
  const zstd = describe(zstdArchive, ociZstd, "zstd");
  return { scale, gzip, zstd, tarBytes, entries };
}

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
}

/** Layer blobs of the tagged manifest of an OCI directory, checking their compression. */
function describe(archive: string, ociDir: string, compression: "gzip" | "zstd"): ImageFiles {
  const blob = (digest: string) => `${ociDir}/blobs/${digest.replace(":", "/")}`;
  const index = JSON.parse(Deno.readTextFileSync(`${ociDir}/index.json`)) as {
    manifests: (Descriptor & { annotations?: Record<string, string> })[];
  };
  const entry = index.manifests.find((m) => m.annotations?.["org.opencontainers.image.ref.name"] === TAG) ??
    index.manifests[0];
  if (!entry) throw new Error(`Cannot read ${ociDir}/index.json: no manifest`);
  const manifest = JSON.parse(Deno.readTextFileSync(blob(entry.digest))) as { layers: Descriptor[] };
  for (const layer of manifest.layers) {
    if (!layer.mediaType.endsWith(`+${compression}`)) {
      throw new Error(`Cannot use ${ociDir}: layer ${layer.digest} is ${layer.mediaType}, expected ${compression}`);
    }
  }
  return {
    archive,
    ociDir,
    tag: TAG,
    compression,
    layers: manifest.layers.map((l) => blob(l.digest)),
    compressedBytes: manifest.layers.reduce((sum, l) => sum + l.size, 0),
  };
}
