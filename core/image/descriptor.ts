/**
 * An OCI content descriptor, as index and manifest documents hold them.
 *
 * @module
 */

/** A content descriptor: what a blob or manifest is, by digest. */
export interface Descriptor {
  mediaType?: string;
  digest: string;
  size?: number;
  platform?: { os?: string; architecture?: string; variant?: string };
  annotations?: Record<string, string>;
}
