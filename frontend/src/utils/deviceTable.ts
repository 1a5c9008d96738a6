/** Mapping between the devices QTable's pagination/sort state and the devices API query. */

import type { DeviceOrdering } from '../api/devices'

/** Table column name → API ordering field. */
const SORT_FIELDS: Record<string, 'name' | 'ip_address' | 'next_run_at'> = {
  name: 'name',
  ip_address: 'ip_address',
  next_backup: 'next_run_at',
}

export const DEFAULT_ORDERING: DeviceOrdering = 'name'

/** The API `ordering` for a QTable sort, or the default (by name) when unsorted/unknown. */
export function orderingFor(sortBy: string | null | undefined, descending: boolean): DeviceOrdering {
  const field = sortBy ? SORT_FIELDS[sortBy] : undefined
  if (!field) return DEFAULT_ORDERING
  return (descending ? `-${field}` : field) as DeviceOrdering
}
