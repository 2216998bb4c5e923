/**
 * The container's interfaces as the `--net` options describe them, for the plugins that render them into distro files.
 *
 * @module
 */
import type { ConversionContext } from "../core/conversion.ts";
import type { NetInterface } from "../core/network/net_spec.ts";

/** Interfaces (not `none`) of the conversion, in `--net` order. */
export function interfacesOf(context: ConversionContext): NetInterface[] {
  return context.plan.net.filter((s): s is NetInterface => s.type !== "none");
}

/** A static gateway distro files can name (`auto` is LXC's bridge address, unknown here). */
export function gatewayOf(gateway: string | undefined): string | undefined {
  return gateway === "auto" ? undefined : gateway;
}
