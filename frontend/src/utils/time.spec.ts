import { describe, expect, it } from 'vitest'

import {
  addDays,
  dateInTimeZone,
  daysBetween,
  formatInstant,
  formatMonthTitle,
  formatShortDate,
  isValidTimeZone,
  mondayWeekdayIndex,
  timeInTimeZone,
  todayInTimeZone,
  zonedParts,
} from './time'

describe('time helpers', () => {
  it("gives today's date in the display zone, not the browser's", () => {
    // 2026-11-10 14:30Z: already the 11th in Sydney, still the 10th in New York.
    const instant = new Date('2026-11-10T14:30:00Z')
    expect(todayInTimeZone('Australia/Sydney', instant)).toBe('2026-11-11')
    expect(todayInTimeZone('America/New_York', instant)).toBe('2026-11-10')
    expect(todayInTimeZone('UTC', instant)).toBe('2026-11-10')
  })

  it('reads wall-clock parts, with midnight as hour 0', () => {
    expect(zonedParts(new Date('2026-11-10T13:00:00Z'), 'Australia/Sydney')).toEqual({
      year: 2026,
      month: 11,
      day: 11,
      hour: 0,
      minute: 0,
      second: 0,
    })
    expect(timeInTimeZone(new Date('2027-10-02T16:30:00Z'), 'Australia/Sydney')).toBe('03:30')
    expect(dateInTimeZone(new Date('2027-10-02T16:30:00Z'), 'Australia/Sydney')).toBe('2027-10-03')
  })

  it('does pure calendar arithmetic', () => {
    expect(addDays('2028-02-28', 1)).toBe('2028-02-29')
    expect(addDays('2027-02-28', 1)).toBe('2027-03-01')
    expect(addDays('2027-01-01', -1)).toBe('2026-12-31')
    expect(daysBetween('2026-10-26', '2026-12-06')).toBe(41)
    // DST in the browser's zone must not matter
    expect(addDays('2027-10-02', 1)).toBe('2027-10-03')
    expect(mondayWeekdayIndex('2027-02-01')).toBe(0)
    expect(mondayWeekdayIndex('2026-11-01')).toBe(6)
  })

  it('formats dates, instants and titles in English with fixed names', () => {
    expect(formatShortDate('2025-02-03')).toBe('Mon 3 Feb')
    expect(formatShortDate('2026-09-15', true)).toBe('Tue 15 Sep 2026')
    expect(formatInstant('2025-02-02T15:00:00Z', 'Australia/Sydney')).toBe('Mon 3 Feb 2025 at 02:00')
    expect(formatMonthTitle(2026, 11)).toBe('November 2026')
  })

  it('checks time zone names', () => {
    expect(isValidTimeZone('Australia/Sydney')).toBe(true)
    expect(isValidTimeZone('Not/AZone')).toBe(false)
  })
})
