/**
 * Test helper: write in-memory layers as pax tar blobs in an OCI image
 * layout, so `umoci unpack` can build the same rootfs for comparison.
 *
 * @module
 */

import { createHash } from "node:crypto";
import type { TarEntry } from "../../core/tar/tar_entry.ts";
import type { Layer } from "./_layers.ts";

const enc = new TextEncoder();
const TYPEFLAG: Record<TarEntry["type"], string> = {
  file: "0",
  hardlink: "1",
  symlink: "2",
  char: "3",
  block: "4",
  directory: "5",
  fifo: "6",
};

function octal(buf: Uint8Array, off: number, len: number, value: number): void {
  const s = value.toString(8).padStart(len - 1, "0");
  buf.set(enc.encode(s.length > len - 1 ? "0".repeat(len - 1) : s), off);
}

function header(
  name: Uint8Array,
  type: string,
  e: TarEntry | undefined,
  size: number,
  linkName: Uint8Array,
): Uint8Array {
  const h = new Uint8Array(512);
  h.set(name.subarray(0, 100), 0);
  octal(h, 100, 8, e ? e.mode : 0o644);
  octal(h, 108, 8, e && e.uid < 0o7777777 ? e.uid : 0);
  octal(h, 116, 8, e && e.gid < 0o7777777 ? e.gid : 0);
  octal(h, 124, 12, size);
  octal(h, 136, 12, e ? Math.max(0, Math.floor(e.mtime)) : 0);
  h.set(enc.encode(type), 156);
  h.set(linkName.subarray(0, 100), 157);
  h.set(enc.encode("ustar\u000000"), 257);
  octal(h, 329, 8, e?.devMajor ?? 0);
  octal(h, 337, 8, e?.devMinor ?? 0);
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const x of h) sum += x;
  h.set(enc.encode(sum.toString(8).padStart(6, "0") + "\u0000 "), 148);
  return h;
}

function paxRecord(key: string, value: Uint8Array): Uint8Array {
  const rest = enc.encode(` ${key}=`).length + value.length + 1;
  let len = rest + String(rest).length;
  if (String(len).length !== String(rest).length) {
    len = rest + String(len).length;
  }
  const out = new Uint8Array(len);
  const head = enc.encode(`${len} ${key}=`);
  out.set(head);
  out.set(value, head.length);
  out[len - 1] = 0x0a;
  return out;
}

function pad(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(Math.ceil(data.length / 512) * 512);
  out.set(data);
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** One layer as an uncompressed pax tar. */
export function layerTar(layer: Layer): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const { entry: e, data } of layer) {
    const records = [
      paxRecord("path", e.path),
      paxRecord("uid", enc.encode(String(e.uid))),
      paxRecord("gid", enc.encode(String(e.gid))),
      paxRecord("mtime", enc.encode(String(e.mtime))),
    ];
    if (e.linkPath.length > 0) records.push(paxRecord("linkpath", e.linkPath));
    for (const [k, v] of e.xattrs) {
      records.push(paxRecord(`SCHILY.xattr.${k}`, v));
    }
    const pax = concat(records);
    parts.push(
      header(
        enc.encode("PaxHeaders/x"),
        "x",
        undefined,
        pax.length,
        new Uint8Array(0),
      ),
      pad(pax),
    );
    const body = data ?? new Uint8Array(0);
    parts.push(
      header(
        e.path,
        TYPEFLAG[e.type],
        e,
        e.type === "file" ? body.length : 0,
        e.linkPath,
      ),
    );
    if (e.type === "file") parts.push(pad(body));
  }
  parts.push(new Uint8Array(1024));
  return concat(parts);
}

function sha256(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

/** Write an OCI image layout with the layers (uncompressed), tagged `latest`. */
export function writeOciLayout(dir: string, layers: Layer[]): void {
  Deno.mkdirSync(`${dir}/blobs/sha256`, { recursive: true });
  const put = (data: Uint8Array) => {
    const hex = sha256(data);
    Deno.writeFileSync(`${dir}/blobs/sha256/${hex}`, data);
    return { digest: `sha256:${hex}`, size: data.length };
  };
  const blobs = layers.map((l) => put(layerTar(l)));
  const config = put(enc.encode(JSON.stringify({
    architecture: "amd64",
    os: "linux",
    config: {},
    rootfs: { type: "layers", diff_ids: blobs.map((x) => x.digest) },
  })));
  const manifest = put(enc.encode(JSON.stringify({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: {
      mediaType: "application/vnd.oci.image.config.v1+json",
      ...config,
    },
    layers: blobs.map((x) => ({
      mediaType: "application/vnd.oci.image.layer.v1.tar",
      ...x,
    })),
  })));
  Deno.writeTextFileSync(
    `${dir}/index.json`,
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        ...manifest,
        annotations: { "org.opencontainers.image.ref.name": "latest" },
      }],
    }),
  );
  Deno.writeTextFileSync(`${dir}/oci-layout`, '{"imageLayoutVersion":"1.0.0"}');
}
