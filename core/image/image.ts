/**
 * The image model every source produces: the selected manifest, its config, and its layers in application order, each
 * a {@linkcode Blob} that opens as a byte stream.
 *
 * @module
 */
import type { Compression } from "../layer/decompressor.ts";
import type { Blob } from "./blob.ts";
import type { Platform } from "./platform.ts";

/** The `config` object of an OCI image config (Docker's `container_config` is ignored). */
export interface ImageRuntimeConfig {
  User?: string;
  ExposedPorts?: Record<string, unknown>;
  Env?: string[];
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Volumes?: Record<string, unknown>;
  WorkingDir?: string;
  Labels?: Record<string, string>;
  StopSignal?: string;
  ArgsEscaped?: boolean;
  Healthcheck?: unknown;
  OnBuild?: unknown;
  Shell?: string[];
  [key: string]: unknown;
}

/** An OCI image configuration document. */
export interface ImageConfig {
  architecture?: string;
  os?: string;
  variant?: string;
  created?: string;
  author?: string;
  config?: ImageRuntimeConfig;
  rootfs?: { type?: string; diff_ids?: string[] };
  history?: Array<{ created?: string; created_by?: string; empty_layer?: boolean; comment?: string }>;
  [key: string]: unknown;
}

/**
 * One layer of the selected image: its blob (compressed digest, size, media type, bytes) and its diff_id, the two faces
 * go-containerregistry's Layer has.
 */
export interface ImageLayer {
  /** Position in application order, from 0. */
  readonly index: number;
  /** The blob as stored (usually compressed). */
  readonly blob: Blob;
  /** How the blob is compressed; `undefined` means sniff the first bytes (docker-archive). */
  readonly compression: Compression | undefined;
  /** The uncompressed digest from `config.rootfs.diff_ids`. */
  readonly diffId: string;
}

/** A JSON document of the image with its verified identity. */
export interface ImageDocument<T = unknown> {
  readonly digest: string;
  readonly size: number;
  readonly mediaType: string;
  readonly value: T;
}

/** An image opened from a source, ready to plan and assemble. */
export interface Image {
  /** The reference the user gave, as text. */
  readonly reference: string;
  /** The kind of source: "oci-archive", "docker-archive", "oci" (later "docker"). */
  readonly transport: string;
  /** The ref name that selected the manifest, if any. */
  readonly refName: string | undefined;
  /** The platforms the source offers (one for a single-manifest image). */
  readonly platforms: readonly Platform[];
  /** The platform of the selected image, from its config. */
  readonly platform: Platform;
  /** The selected manifest; for a legacy docker-archive this is its manifest.json entry. */
  readonly manifest: ImageDocument<Record<string, unknown>>;
  /** The index that led to the manifest, if any. */
  readonly index: ImageDocument<Record<string, unknown>> | undefined;
  readonly config: ImageDocument<ImageConfig>;
  /** Layers in application order (`config.rootfs.diff_ids` order). */
  readonly layers: readonly ImageLayer[];
  /** Non-fatal findings while opening: skipped entries, reordered layers. */
  readonly warnings: readonly string[];
  /** Release what the source holds: temporary files (a decompressed outer archive), connections. Safe twice. */
  close(): void;
}
