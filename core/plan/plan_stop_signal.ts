/**
 * The stop signal (`lxc.signal.halt`): the image's StopSignal or `--stop-signal`, normalised to `SIG…`. Without one:
 * SIGTERM for apps (Docker's default), SIGRTMIN+3 for systemd, SIGTERM for /init (s6-overlay), and SIGPWR (LXC's own
 * default, which sysvinit and busybox init expect) for other inits.
 *
 * @module
 */
import { Oci2LxcError } from "../errors.ts";
import { checkConfigValue } from "../lxc/config_value.ts";
import type { PlanField } from "./container_plan.ts";
import { fieldFate } from "./field_fate.ts";
import type { PlannedCommand } from "./plan_command.ts";
import { isString, optionalField, type RuntimeConfig, valueSource } from "./runtime_config.ts";
import { normaliseStopSignal } from "./stop_signal.ts";

/**
 * Plan the stop signal for `command`.
 *
 * @throws {Oci2LxcError} `config` (or `usage` for `--stop-signal`) for a value that is not a signal
 */
export function planStopSignal(
  rc: RuntimeConfig,
  optionSignal: string | undefined,
  command: Pick<PlannedCommand, "kind" | "systemd" | "argv">,
): { stopSignal: string; field: PlanField } {
  const imageSignal = optionalField(rc, "StopSignal", isString, "a string");
  const text = optionSignal ?? (imageSignal || undefined);
  const defaultSignal = command.kind === "app"
    ? "SIGTERM"
    : command.systemd
    ? "SIGRTMIN+3"
    : command.argv[0] === "/init"
    ? "SIGTERM"
    : "SIGPWR";
  const field = fieldFate("StopSignal", "lxc.signal.halt", {
    overridden: optionSignal !== undefined ? "replaced by --stop-signal" : undefined,
    imageSet: Boolean(imageSignal),
    defaulted: `not set: ${defaultSignal}`,
  });
  if (text === undefined) return { stopSignal: defaultSignal, field };
  const { what, code } = valueSource(optionSignal !== undefined, "--stop-signal", "StopSignal");
  checkConfigValue(text, what, code);
  const stopSignal = normaliseStopSignal(text);
  if (stopSignal === undefined) {
    throw new Oci2LxcError(code, `Cannot use ${what} ${JSON.stringify(text)}: not a signal name or number`, {
      hint: "Use a name such as SIGTERM, SIGQUIT or SIGRTMIN+3, or a number",
    });
  }
  return { stopSignal, field };
}
