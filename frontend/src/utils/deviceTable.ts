/** Mapping between the devices QTable's pagination/sort state and the devices API query. */

import type { DeviceOrdering } from '../api/devices'

type SortField = Exclude<DeviceOrdering, `-${string}`>

/**
 * Table column name → API ordering field. The columns are the page's; the fields are typed
 * by the schema's `ordering` enum, so a key the API drops fails the type check.
 */
const SORT_FIELDS: Record<string, SortField> = {
  name: 'name',
  ip_address: 'ip_address',
  next_backup: 'next_run_at',
  last_backup: 'last_backup',
}

/** The API `ordering` for a QTable sort, or undefined (the API's default order) when unsorted. */
export function orderingFor(sortBy: string | null | undefined, descending: boolean): DeviceOrdering | undefined {
  const field = sortBy ? SORT_FIELDS[sortBy] : undefined
  if (!field) return undefined
  return descending ? `-${field}` : field
}
