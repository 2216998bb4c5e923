/**
 * The app image the update tests convert and update, built in the test from the host's static busybox: v1 is a
 * busybox layer and an app layer; v2 adds a layer that whites out one file, changes another, changes Env and the
 * stop signal, drops the volume /cache and declares /logs.
 */
import { join } from "node:path";
import { type BuiltImage, tarOf, writeOciDir } from "../_helpers/oci_builder.ts";

const APPLETS = ["sh", "cat", "env", "ls", "sleep", "echo", "mkdir", "stat"];

/** The app writes what it sees into the volume /data (env, its version file, the bound host volume), then sleeps. */
const RUN_SH = `#!/bin/sh
v=$(cat /app/version)
{ echo "version=$v"; ls /app | sed 's/^/app:/'; ls /srv/host | sed 's/^/host:/'; env | sed 's/^/env:/'; } > /data/seen-$v.tmp
mv /data/seen-$v.tmp /data/seen-$v
exec sleep 100000
`;

async function layerOf(files: (dir: string) => Promise<void>): Promise<Uint8Array> {
  const dir = await Deno.makeTempDir({ prefix: "oci2lxc-app-layer-" });
  try {
    await files(dir);
    return await tarOf(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** The busybox layer: /bin/busybox and the applets the app uses. */
export function baseLayer(): Promise<Uint8Array> {
  return layerOf(async (dir) => {
    await Deno.mkdir(join(dir, "bin"), { recursive: true });
    await Deno.copyFile("/usr/bin/busybox", join(dir, "bin/busybox"));
    for (const a of [...APPLETS, "sed", "mv"]) await Deno.symlink("busybox", join(dir, "bin", a));
  });
}

function appLayer(): Promise<Uint8Array> {
  return layerOf(async (dir) => {
    await Deno.mkdir(join(dir, "app"), { recursive: true });
    await Deno.writeTextFile(join(dir, "app/run.sh"), RUN_SH, { mode: 0o755 });
    await Deno.writeTextFile(join(dir, "app/version"), "1\n");
    await Deno.writeTextFile(join(dir, "app/old.txt"), "removed in v2\n");
    await Deno.mkdir(join(dir, "data"), { recursive: true });
    await Deno.writeTextFile(join(dir, "data/from-image"), "image content of the volume\n");
  });
}

function v2Layer(): Promise<Uint8Array> {
  return layerOf(async (dir) => {
    await Deno.mkdir(join(dir, "app"), { recursive: true });
    await Deno.writeTextFile(join(dir, "app/.wh.old.txt"), "");
    await Deno.writeTextFile(join(dir, "app/version"), "2\n");
    await Deno.writeTextFile(join(dir, "app/new.txt"), "new in v2\n");
  });
}

const CONFIG_V1 = {
  Entrypoint: ["/bin/sh", "/app/run.sh"],
  Env: ["PATH=/bin", "APP_VERSION=1", "GONE=v1-only", "MINE=image"],
  Volumes: { "/data": {}, "/cache": {} },
  StopSignal: "SIGTERM",
};

const CONFIG_V2 = {
  Entrypoint: ["/bin/sh", "/app/run.sh"],
  Env: ["PATH=/bin", "APP_VERSION=2", "NEW=yes", "MINE=image2"],
  Volumes: { "/data": {}, "/logs": {} },
  StopSignal: "SIGQUIT",
};

/** Write v1 and v2 as OCI layout directories `dir/v1` and `dir/v2`. */
export async function buildAppImages(dir: string): Promise<{ v1: BuiltImage; v2: BuiltImage }> {
  const base = await baseLayer();
  const app = await appLayer();
  const v1 = await writeOciDir(join(dir, "v1"), [{ tar: base, compression: "gzip" }, {
    tar: app,
    compression: "gzip",
  }], CONFIG_V1);
  const v2 = await writeOciDir(join(dir, "v2"), [{ tar: base, compression: "gzip" }, {
    tar: app,
    compression: "gzip",
  }, { tar: await v2Layer(), compression: "gzip" }], CONFIG_V2);
  return { v1, v2 };
}
