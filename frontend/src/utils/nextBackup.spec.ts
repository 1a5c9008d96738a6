import { describe, expect, it } from 'vitest'

import { formatNextBackup } from './nextBackup'

const SYDNEY = 'Australia/Sydney'

describe('formatNextBackup', () => {
  // 2026-11-10 10:00 AEDT (UTC+11)
  const now = new Date('2026-11-10T10:00:00+11:00')

  it('says "Not scheduled" for null, empty or unparsable values', () => {
    expect(formatNextBackup(null, now, SYDNEY)).toBe('Not scheduled')
    expect(formatNextBackup('', now, SYDNEY)).toBe('Not scheduled')
    expect(formatNextBackup('not a date', now, SYDNEY)).toBe('Not scheduled')
  })

  it('counts minutes ahead on the same day', () => {
    expect(formatNextBackup('2026-11-09T23:25:00Z', now, SYDNEY)).toBe('In 25 minutes')
    expect(formatNextBackup('2026-11-09T23:01:00Z', now, SYDNEY)).toBe('In 1 minute')
    expect(formatNextBackup('2026-11-09T23:00:20Z', now, SYDNEY)).toBe('In 1 minute')
    expect(formatNextBackup('2026-11-09T23:59:50Z', now, SYDNEY)).toBe('In 59 minutes')
  })

  it('counts whole hours ahead on the same day, up to 6 hours', () => {
    expect(formatNextBackup('2026-11-10T00:00:00Z', now, SYDNEY)).toBe('In 1 hour')
    expect(formatNextBackup('2026-11-10T02:00:00Z', now, SYDNEY)).toBe('In 3 hours')
    expect(formatNextBackup('2026-11-10T02:40:00Z', now, SYDNEY)).toBe('In 3 hours')
    expect(formatNextBackup('2026-11-10T04:59:00Z', now, SYDNEY)).toBe('In 5 hours')
  })

  it('gives the time of day for 6 hours or more on the same day', () => {
    expect(formatNextBackup('2026-11-10T05:00:00Z', now, SYDNEY)).toBe('Today at 16:00')
    expect(formatNextBackup('2026-11-10T12:59:00Z', now, SYDNEY)).toBe('Today at 23:59')
  })

  it('says "Tomorrow" across local midnight even when under an hour away', () => {
    const lateEvening = new Date('2026-11-10T23:30:00+11:00')
    expect(formatNextBackup('2026-11-10T13:30:00Z', lateEvening, SYDNEY)).toBe('Tomorrow at 00:30')
    expect(formatNextBackup('2026-11-11T03:00:00Z', lateEvening, SYDNEY)).toBe('Tomorrow at 14:00')
  })

  it('uses the display time zone, not UTC, for the day boundary', () => {
    // 2026-11-10 13:30Z is already the 11th in Sydney but still the 10th in UTC.
    const lateEvening = new Date('2026-11-10T12:30:00Z')
    expect(formatNextBackup('2026-11-10T13:30:00Z', lateEvening, SYDNEY)).toBe('Tomorrow at 00:30')
    expect(formatNextBackup('2026-11-10T13:30:00Z', lateEvening, 'UTC')).toBe('In 1 hour')
  })

  it('handles the Sydney spring-forward day (AEST +10 → AEDT +11)', () => {
    // DST starts 2027-10-03 02:00 local; 16:30Z is 03:30 AEDT on the 3rd.
    const noonBefore = new Date('2027-10-02T12:00:00+10:00')
    expect(formatNextBackup('2027-10-02T16:30:00Z', noonBefore, SYDNEY)).toBe('Tomorrow at 03:30')

    // 00:30 AEST → 03:30 AEDT is 3 hours on the wall clock but 2 real hours.
    const justAfterMidnight = new Date('2027-10-03T00:30:00+10:00')
    expect(formatNextBackup('2027-10-02T16:30:00Z', justAfterMidnight, SYDNEY)).toBe('In 2 hours')
  })

  it('handles the Sydney fall-back day (AEDT +11 → AEST +10)', () => {
    // DST ends 2027-04-04 03:00 AEDT → 02:00 AEST; the 02:30 wall time happens twice.
    const before = new Date('2027-04-04T01:00:00+11:00')
    expect(formatNextBackup('2027-04-03T15:30:00Z', before, SYDNEY)).toBe('In 1 hour') // first 02:30 (AEDT)
    expect(formatNextBackup('2027-04-03T16:30:00Z', before, SYDNEY)).toBe('In 2 hours') // second 02:30 (AEST): 2.5 real hours, 1.5 on the wall clock
    expect(formatNextBackup('2027-04-04T02:00:00Z', before, SYDNEY)).toBe('Today at 12:00') // 12:00 AEST, 12h later
  })

  it('names the weekday and date further ahead', () => {
    const jan = new Date('2025-01-28T09:00:00+11:00')
    // 2025-02-03 (a Monday) 02:00 AEDT = 2025-02-02T15:00Z
    expect(formatNextBackup('2025-02-02T15:00:00Z', jan, SYDNEY)).toBe('Mon 3 Feb at 02:00')
    const jan2031 = new Date('2031-01-30T09:00:00+11:00')
    expect(formatNextBackup('2031-02-02T15:00:00Z', jan2031, SYDNEY)).toBe('Mon 3 Feb at 02:00')
  })

  it('adds the year when the date is more than 180 days away', () => {
    const jan = new Date('2025-01-28T09:00:00+11:00')
    expect(formatNextBackup('2026-02-02T15:00:00Z', jan, SYDNEY)).toBe('Tue 3 Feb 2026 at 02:00')
  })

  it('says "Due now" for a time already passed', () => {
    expect(formatNextBackup('2026-11-09T22:59:00Z', now, SYDNEY)).toBe('Due now')
    expect(formatNextBackup(now.toISOString(), now, SYDNEY)).toBe('Due now')
  })
})
