import { describe, expect, it } from 'vitest'

import { SCHEDULE_COLORS, scheduleColor } from './scheduleColor'

describe('scheduleColor', () => {
  it('is stable and differs for neighbouring ids', () => {
    expect(scheduleColor(7)).toBe(scheduleColor(7))
    expect(scheduleColor(7 + SCHEDULE_COLORS.length)).toBe(scheduleColor(7))
    expect(scheduleColor(1)).not.toBe(scheduleColor(2))
    expect(SCHEDULE_COLORS).toContain(scheduleColor(-3))
  })
})
