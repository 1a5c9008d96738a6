import { describe, expect, it } from 'vitest'

import { orderingFor } from './deviceTable'

describe('orderingFor', () => {
  it('maps table columns to API orderings', () => {
    expect(orderingFor('name', false)).toBe('name')
    expect(orderingFor('ip_address', true)).toBe('-ip_address')
    expect(orderingFor('next_backup', false)).toBe('next_run_at')
    expect(orderingFor('next_backup', true)).toBe('-next_run_at')
    expect(orderingFor(null, true)).toBe('name')
    expect(orderingFor('device_group', false)).toBe('name')
  })
})
