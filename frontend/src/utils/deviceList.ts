/** Helpers for showing device lists compactly (calendar tooltips). */

export const TOOLTIP_DEVICE_LIMIT = 10

export interface DeviceListSummary {
  /** At most `limit` names, in the given order. */
  names: string[]
  /** How many more devices there are beyond `names` (0 when all are listed). */
  more: number
}

/**
 * The first `limit` device names and how many are left over. `total` is the
 * server's `device_count`, which may exceed the list it sent.
 */
export function summarizeDevices(
  devices: ReadonlyArray<{ name: string }>,
  total: number = devices.length,
  limit: number = TOOLTIP_DEVICE_LIMIT,
): DeviceListSummary {
  const names = devices.slice(0, limit).map((device) => device.name)
  return { names, more: Math.max(total, devices.length) - names.length }
}
