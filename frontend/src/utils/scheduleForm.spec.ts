import { describe, expect, it } from 'vitest'

import {
  applyTemplate,
  emptyForm,
  inputFromForm,
  SCHEDULE_TEMPLATES,
  splitFieldErrors,
  timeZoneOptions,
} from './scheduleForm'

const template = (id: string) => SCHEDULE_TEMPLATES.find((t) => t.id === id)!

describe('scheduleForm', () => {
  it('templates set the recurrence and a name, keeping a name the user typed', () => {
    expect(applyTemplate(emptyForm(), template('weekly-sunday'))).toMatchObject({
      name: 'Weekly Sunday 03:00',
      schedule_type: 'weekly',
      day_of_week: 6,
      hour: 3,
      minute: 0,
    })
    const mine = applyTemplate({ ...emptyForm(), name: 'Core nightly', priority: 8 }, template('business-hours'))
    expect(mine).toMatchObject({ name: 'Core nightly', priority: 8, schedule_type: 'cron', cron_expression: '0 8-16/4 * * 1-5' })
    const again = applyTemplate(applyTemplate(emptyForm(), template('nightly')), template('business-hours'))
    expect(again.name).toBe('Business hours every 4 h')
  })

  it('sends every field, clearing the ones the type does not use', () => {
    const form = { ...emptyForm(), name: 'N', day_of_week: 3, day_of_month: 9, cron_expression: '* * * * *', timezone: '' }
    expect(inputFromForm(form)).toEqual({
      name: 'N',
      schedule_type: 'daily',
      hour: 2,
      minute: 0,
      day_of_week: null,
      day_of_month: null,
      cron_expression: '',
      enabled: true,
      timezone: null,
      priority: 5,
      spread_minutes: 0,
      overlap_policy: 'skip',
    })
    const cron = inputFromForm({ ...form, schedule_type: 'cron', hour: null, timezone: 'Europe/Berlin' })
    expect(cron).not.toHaveProperty('hour')
    expect(cron).toMatchObject({ cron_expression: '* * * * *', timezone: 'Europe/Berlin', day_of_week: null })
    expect(inputFromForm({ ...form, schedule_type: 'weekly' }).day_of_week).toBe(3)
  })

  it('splits a 400 body into field messages and the rest', () => {
    expect(
      splitFieldErrors({ day_of_week: ['A weekly schedule needs a day of the week.'], detail: 'Nope.', extra: ['x', 'y'] }),
    ).toEqual({ fields: { day_of_week: 'A weekly schedule needs a day of the week.' }, other: ['Nope.', 'extra: x y'] })
    expect(splitFieldErrors('Server error')).toEqual({ fields: {}, other: ['Server error'] })
  })

  it('lists UTC, the schedule zone and the IANA zones once each', () => {
    const zones = timeZoneOptions(['Etc/GMT+5', null])
    expect(zones.slice(0, 2)).toEqual(['UTC', 'Etc/GMT+5'])
    expect(zones).toContain('Australia/Sydney')
    expect(new Set(zones).size).toBe(zones.length)
  })
})
