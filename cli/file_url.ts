/** `file://` URL of an absolute path, with the characters URLs need escaped. */
import { pathToFileURL } from "node:url";

/** The file URL of `path`. */
export function toFileUrl(path: string): string {
  return pathToFileURL(path).href;
}
