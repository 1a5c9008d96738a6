import { describe, expect, it } from 'vitest'

import { zonedInstant } from './time'

describe('zonedInstant', () => {
  it('finds the instant of a local wall-clock time in summer and winter', () => {
    expect(zonedInstant('2026-11-10', '02:00', 'Australia/Sydney').toISOString()).toBe('2026-11-09T15:00:00.000Z')
    expect(zonedInstant('2026-06-10', '02:00', 'Australia/Sydney').toISOString()).toBe('2026-06-09T16:00:00.000Z')
    expect(zonedInstant('2026-06-10', '23:30', 'UTC').toISOString()).toBe('2026-06-10T23:30:00.000Z')
  })

  it('spring_gap: a time that does not exist moves forward by the gap', () => {
    // Sydney, 4 Oct 2026: 02:00 AEST becomes 03:00 AEDT.
    expect(zonedInstant('2026-10-04', '02:30', 'Australia/Sydney').toISOString()).toBe('2026-10-03T16:30:00.000Z')
  })

  it('autumn_fold: a time that happens twice is its first instant', () => {
    // Sydney, 5 Apr 2026: 03:00 AEDT becomes 02:00 AEST; 02:30 happens twice.
    expect(zonedInstant('2026-04-05', '02:30', 'Australia/Sydney').toISOString()).toBe('2026-04-04T15:30:00.000Z')
  })
})
