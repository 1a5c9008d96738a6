import { describe, expect, it } from 'vitest'

import { parseCron, PreviewError, previewRuns, type ScheduleRule, spreadWindow } from './schedulePreview'

// Expected lists were produced by the server's own rules (schedules/recurrence.py,
// Recurrence.next_n) for the same schedule, zone and instant.

const BASE: ScheduleRule = { scheduleType: 'daily', hour: 2, minute: 0, dayOfWeek: null, dayOfMonth: null, cronExpression: '' }

function runs(rule: Partial<ScheduleRule>, timeZone: string, after: string, count = 5): string[] {
  return previewRuns({ ...BASE, ...rule }, timeZone, new Date(after), count).map((d) => d.toISOString().replace('.000', ''))
}

describe('previewRuns', () => {
  it('spring_gap_sydney: a 02:30 daily fires at 03:30 on the spring-forward day, once', () => {
    expect(runs({ hour: 2, minute: 30 }, 'Australia/Sydney', '2026-10-02T00:00:00Z')).toEqual([
      '2026-10-02T16:30:00Z', // Sat 3 Oct 02:30 AEST
      '2026-10-03T16:30:00Z', // Sun 4 Oct 03:30 AEDT: 02:30 does not exist
      '2026-10-04T15:30:00Z', // Mon 5 Oct 02:30 AEDT
      '2026-10-05T15:30:00Z',
      '2026-10-06T15:30:00Z',
    ])
  })

  it('autumn_fold_sydney: a 02:30 daily fires once on the fall-back day, at the first 02:30', () => {
    expect(runs({ hour: 2, minute: 30 }, 'Australia/Sydney', '2026-04-03T00:00:00Z')).toEqual([
      '2026-04-03T15:30:00Z',
      '2026-04-04T15:30:00Z', // Sun 5 Apr 02:30 AEDT (not again at 02:30 AEST)
      '2026-04-05T16:30:00Z',
      '2026-04-06T16:30:00Z',
      '2026-04-07T16:30:00Z',
    ])
  })

  it('spring_gap_new_york: 02:30 on 8 March fires at 03:30 EDT', () => {
    expect(runs({ hour: 2, minute: 30 }, 'America/New_York', '2026-03-06T12:00:00Z')).toEqual([
      '2026-03-07T07:30:00Z',
      '2026-03-08T07:30:00Z',
      '2026-03-09T06:30:00Z',
      '2026-03-10T06:30:00Z',
      '2026-03-11T06:30:00Z',
    ])
  })

  it('autumn_fold_new_york: 01:30 on 1 November fires once, at 01:30 EDT', () => {
    expect(runs({ hour: 1, minute: 30 }, 'America/New_York', '2026-10-30T12:00:00Z')).toEqual([
      '2026-10-31T05:30:00Z',
      '2026-11-01T05:30:00Z',
      '2026-11-02T06:30:00Z',
      '2026-11-03T06:30:00Z',
      '2026-11-04T06:30:00Z',
    ])
  })

  it('month_31: a monthly 31st fires on the last day of shorter months', () => {
    expect(runs({ scheduleType: 'monthly', dayOfMonth: 31, hour: 1 }, 'UTC', '2027-01-15T00:00:00Z')).toEqual([
      '2027-01-31T01:00:00Z',
      '2027-02-28T01:00:00Z',
      '2027-03-31T01:00:00Z',
      '2027-04-30T01:00:00Z',
      '2027-05-31T01:00:00Z',
    ])
  })

  it('month_30_leap_year: a monthly 30th fires on 29 February 2028, across a DST change', () => {
    expect(runs({ scheduleType: 'monthly', dayOfMonth: 30, hour: 1 }, 'Europe/London', '2028-01-15T00:00:00Z')).toEqual([
      '2028-01-30T01:00:00Z',
      '2028-02-29T01:00:00Z',
      '2028-03-30T00:00:00Z',
      '2028-04-30T00:00:00Z',
      '2028-05-30T00:00:00Z',
    ])
  })

  it('weekly: day 6 is Sunday (Monday = 0)', () => {
    expect(runs({ scheduleType: 'weekly', dayOfWeek: 6, hour: 3 }, 'Australia/Sydney', '2026-12-03T00:00:00Z')).toEqual([
      '2026-12-05T16:00:00Z',
      '2026-12-12T16:00:00Z',
      '2026-12-19T16:00:00Z',
      '2026-12-26T16:00:00Z',
      '2027-01-02T16:00:00Z',
    ])
  })

  it('is strictly after `after` and starts later the same day when the time has not come yet', () => {
    expect(runs({ hour: 2 }, 'UTC', '2026-12-03T02:00:00Z', 2)).toEqual(['2026-12-04T02:00:00Z', '2026-12-05T02:00:00Z'])
    expect(runs({ hour: 2 }, 'UTC', '2026-12-03T01:59:00Z', 1)).toEqual(['2026-12-03T02:00:00Z'])
    expect(runs({ hour: 2 }, 'UTC', '2026-12-03T00:00:00Z', 0)).toEqual([])
  })

  it('cron: the business-hours template fires at 08, 12 and 16 on weekdays', () => {
    expect(runs({ scheduleType: 'cron', cronExpression: '0 8-16/4 * * 1-5' }, 'Australia/Sydney', '2026-12-04T00:00:00Z')).toEqual([
      '2026-12-04T01:00:00Z', // Fri 12:00 AEDT
      '2026-12-04T05:00:00Z', // Fri 16:00
      '2026-12-06T21:00:00Z', // Mon 08:00
      '2026-12-07T01:00:00Z',
      '2026-12-07T05:00:00Z',
    ])
  })

  it('cron autumn_fold: an hourly cron skips the repeated hour', () => {
    expect(runs({ scheduleType: 'cron', cronExpression: '30 * * * *' }, 'America/New_York', '2026-11-01T03:00:00Z')).toEqual([
      '2026-11-01T03:30:00Z',
      '2026-11-01T04:30:00Z',
      '2026-11-01T05:30:00Z', // 01:30 EDT; 01:30 EST (06:30Z) does not fire
      '2026-11-01T07:30:00Z',
      '2026-11-01T08:30:00Z',
    ])
  })

  it('cron spring_gap: wall times shifted onto the same instant fire once', () => {
    expect(runs({ scheduleType: 'cron', cronExpression: '0,30 2,3 * * *' }, 'America/New_York', '2026-03-08T05:00:00Z')).toEqual([
      '2026-03-08T07:00:00Z',
      '2026-03-08T07:30:00Z',
      '2026-03-09T06:00:00Z',
      '2026-03-09T06:30:00Z',
      '2026-03-09T07:00:00Z',
    ])
  })

  it('cron: day of month OR weekday when both are restricted; names; 7 is Sunday; steps on ranges', () => {
    expect(runs({ scheduleType: 'cron', cronExpression: '0 0 13 * fri' }, 'UTC', '2026-01-01T00:00:00Z')).toEqual([
      '2026-01-02T00:00:00Z',
      '2026-01-09T00:00:00Z',
      '2026-01-13T00:00:00Z',
      '2026-01-16T00:00:00Z',
      '2026-01-23T00:00:00Z',
    ])
    expect(runs({ scheduleType: 'cron', cronExpression: '0 12 * jan-mar/2 sun,7' }, 'UTC', '2026-01-01T00:00:00Z')).toEqual([
      '2026-01-04T12:00:00Z',
      '2026-01-11T12:00:00Z',
      '2026-01-18T12:00:00Z',
      '2026-01-25T12:00:00Z',
      '2026-03-01T12:00:00Z',
    ])
  })

  it('cron: 29 February only in leap years', () => {
    expect(runs({ scheduleType: 'cron', cronExpression: '15 6 29 feb *' }, 'UTC', '2026-01-01T00:00:00Z', 2)).toEqual([
      '2028-02-29T06:15:00Z',
      '2032-02-29T06:15:00Z',
    ])
  })

  it('refuses incomplete rules and crons it does not understand, with a message', () => {
    const after = new Date('2026-01-01T00:00:00Z')
    expect(() => previewRuns({ ...BASE, scheduleType: 'weekly' }, 'UTC', after)).toThrow('day of the week')
    expect(() => previewRuns({ ...BASE, scheduleType: 'monthly', dayOfMonth: 32 }, 'UTC', after)).toThrow('day of the month')
    expect(() => previewRuns({ ...BASE, hour: 24 }, 'UTC', after)).toThrow('Hour')
    expect(() => parseCron('0 8 * *')).toThrow('exactly 5 fields')
    expect(() => parseCron('0 8 L * *')).toThrow(PreviewError)
    expect(() => parseCron('0 8 * * 1#2')).toThrow(PreviewError)
    expect(() => parseCron('61 8 * * *')).toThrow('outside 0–59')
    expect(() => parseCron('0 9-8 * * *')).toThrow('backwards')
  })
})

describe('spreadWindow', () => {
  it('gives the local start window of the devices, or null without a spread', () => {
    const run = new Date('2026-12-03T15:00:00Z') // 02:00 in Sydney
    expect(spreadWindow(run, 30, 'Australia/Sydney')).toBe('between 02:00 and 02:30')
    expect(spreadWindow(run, 0, 'Australia/Sydney')).toBeNull()
    expect(spreadWindow(new Date('2026-12-03T12:30:00Z'), 60, 'Australia/Sydney')).toBe('between 23:30 and 00:30 (next day)')
  })
})
