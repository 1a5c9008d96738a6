import { describe, expect, it } from 'vitest'

import type { MaintenanceWindow } from '../api/windows'
import {
  describeCapacity,
  describeScope,
  describeSpan,
  describeWindow,
  emptyWindowForm,
  formatMinutes,
  formFromWindow,
  inputFromWindowForm,
} from './windowForm'

const SYDNEY = 'Australia/Sydney'

const daily: MaintenanceWindow = {
  id: 1,
  name: 'Patch night',
  enabled: true,
  timezone: null,
  schedule_type: 'daily',
  start: null,
  hour: 23,
  minute: 0,
  day_of_week: null,
  day_of_month: null,
  cron_expression: '',
  duration_minutes: 180,
  policy: 'defer',
  device_groups: [],
  collection_groups: [],
  next_spans: [],
}

describe('formatMinutes', () => {
  it('says minutes, hours and days', () => {
    expect(formatMinutes(45)).toBe('45 min')
    expect(formatMinutes(180)).toBe('3 h')
    expect(formatMinutes(90)).toBe('1 h 30 min')
    expect(formatMinutes(10080)).toBe('7 d')
    expect(formatMinutes(1500)).toBe('1 d 1 h')
    expect(formatMinutes(0)).toBe('0 min')
  })
})

describe('describeWindow', () => {
  it('describes each type; a one-off start in the display zone, recurring times in the window zone', () => {
    expect(describeWindow(daily, SYDNEY)).toBe('Daily 23:00 for 3 h')
    expect(describeWindow({ ...daily, schedule_type: 'weekly', day_of_week: 6, hour: 22 }, SYDNEY)).toBe(
      'Weekly Sunday 22:00 for 3 h',
    )
    expect(describeWindow({ ...daily, schedule_type: 'monthly', day_of_month: 31, timezone: 'Europe/Berlin' }, SYDNEY)).toBe(
      'Monthly on day 31 at 23:00 for 3 h (Europe/Berlin)',
    )
    expect(describeWindow({ ...daily, schedule_type: 'cron', cron_expression: '0 22 * * 6', duration_minutes: 120 }, SYDNEY)).toBe(
      'Cron 0 22 * * 6 for 2 h',
    )
    // 12:00Z is 22:00 in Sydney (AEST) on 5 June 2027.
    expect(
      describeWindow({ ...daily, schedule_type: 'once', start: '2027-06-05T12:00:00Z', duration_minutes: 240, timezone: 'UTC' }, SYDNEY),
    ).toBe('Once Sat 5 Jun 2027 at 22:00 for 4 h')
  })
})

describe('describeSpan and describeScope', () => {
  it('gives the end date only when the span ends on another day', () => {
    expect(describeSpan({ start: '2026-10-02T10:00:00Z', end: '2026-10-02T12:00:00Z' }, SYDNEY)).toBe(
      'Fri 2 Oct 2026 at 20:00 – 22:00',
    )
    expect(describeSpan({ start: '2026-10-02T13:00:00Z', end: '2026-10-02T16:00:00Z' }, SYDNEY)).toBe(
      'Fri 2 Oct 2026 at 23:00 – Sat 3 Oct 2026 at 02:00',
    )
  })

  it('names known groups and shows the others by id', () => {
    const names = new Map([[1, 'core']])
    expect(describeScope({ device_groups: [], collection_groups: [] }, names, new Map())).toBe('Every device')
    expect(describeScope({ device_groups: [1, 4], collection_groups: [3] }, names, new Map())).toBe(
      'Device groups: core, #4 · Collection groups: #3',
    )
  })
})

describe('describeCapacity', () => {
  it('rounds the estimate up and the time available down', () => {
    expect(describeCapacity({ estimated_seconds: 1441, available_seconds: 659 })).toBe('needs ~25 min, has 10 min')
    expect(describeCapacity({ estimated_seconds: 20, available_seconds: 7200 })).toBe('needs ~1 min, has 2 h')
  })
})

describe('window form', () => {
  it('reads a one-off start in the window zone and sends it back in UTC, without hour and minute', () => {
    const once = { ...daily, schedule_type: 'once' as const, start: '2027-06-05T12:00:00Z', timezone: 'Europe/Berlin' }
    const form = formFromWindow(once, SYDNEY)
    expect([form.date, form.hour, form.minute]).toEqual(['2027-06-05', 14, 0])
    const input = inputFromWindowForm({ ...form, hour: 15 }, SYDNEY)
    expect(input.start).toBe('2027-06-05T13:00:00Z')
    expect('hour' in input).toBe(false)
    expect(input.cron_expression).toBe('')
  })

  it('sends no start for a recurring window and clears the fields its type does not use', () => {
    const input = inputFromWindowForm({ ...emptyWindowForm(), name: 'x', day_of_week: 3, date: '2027-01-01' }, SYDNEY)
    expect(input).toEqual({
      name: 'x',
      enabled: true,
      timezone: null,
      schedule_type: 'daily',
      start: null,
      hour: 23,
      minute: 0,
      day_of_week: null,
      day_of_month: null,
      cron_expression: '',
      duration_minutes: 60,
      policy: 'skip',
      device_groups: [],
      collection_groups: [],
    })
  })

  it('leaves the start empty while the date is missing (the server names it)', () => {
    expect(inputFromWindowForm({ ...emptyWindowForm(), schedule_type: 'once' }, SYDNEY).start).toBeNull()
  })
})
