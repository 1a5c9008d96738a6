import { describe, expect, it } from 'vitest'

import { orderingFor } from './deviceTable'

describe('orderingFor', () => {
  it('maps table columns to API orderings', () => {
    expect(orderingFor('name', false)).toBe('name')
    expect(orderingFor('ip_address', true)).toBe('-ip_address')
    expect(orderingFor('next_backup', false)).toBe('next_run_at')
    expect(orderingFor('next_backup', true)).toBe('-next_run_at')
  })

  it('leaves the order to the API when the table is unsorted or sorted by a column it cannot sort', () => {
    expect(orderingFor(null, true)).toBeUndefined()
    expect(orderingFor('device_group', false)).toBeUndefined()
  })
})
