import { describe, expect, it } from 'vitest'

import { NO_SCHEDULE, scheduleOptions } from './scheduleOptions'

describe('scheduleOptions', () => {
  const base = {
    schedule_type: 'daily' as const,
    hour: 2,
    minute: 0,
    day_of_week: null,
    day_of_month: null,
    cron_expression: null,
    next_run_at: null,
    last_run_at: null,
    device_count: 0,
    timezone: null, priority: 5, spread_minutes: 0, overlap_policy: 'skip' as const, capacity_warning: null,
  }
  it('sorts by name and keeps the current schedule even if unlisted', () => {
    const options = scheduleOptions(
      [
        { ...base, id: 2, name: 'Weekly', enabled: true, description: 'Weekly on Sun at 03:00', next_runs: ['2026-11-15T16:00:00Z'] },
        { ...base, id: 1, name: 'Daily', enabled: false, description: 'Daily at 02:00', next_runs: [] },
      ],
      { ...base, id: 9, name: 'Archive', enabled: true, cron_expression: '', next_run_at: '2026-12-01T00:00:00Z' },
    )
    expect(options.map((o) => [o.value, o.label])).toEqual([
      [9, 'Archive'],
      [1, 'Daily'],
      [2, 'Weekly'],
    ])
    expect(options[0]!.nextRuns).toEqual(['2026-12-01T00:00:00Z'])
  })
})

describe('scheduleOptions with an explicit "No schedule"', () => {
  it('lists "No schedule" first, then the schedules by name', () => {
    const schedule = {
      schedule_type: 'weekly' as const, hour: 3, minute: 0, day_of_week: 6, day_of_month: null,
      cron_expression: null, next_run_at: null, last_run_at: null, device_count: 0, next_runs: [],
      timezone: null, priority: 5, spread_minutes: 0, overlap_policy: 'skip' as const, capacity_warning: null,
    }
    const options = scheduleOptions(
      [
        { ...schedule, id: 4, name: 'Weekly', enabled: true, description: 'Weekly on Sunday at 03:00' },
        { ...schedule, id: 3, name: 'Archive', enabled: false, description: 'Weekly on Sunday at 03:00' },
      ],
      null,
      { noScheduleOption: true },
    )
    expect(options.map((o) => [o.value, o.label, o.enabled])).toEqual([
      [NO_SCHEDULE, 'No schedule', true],
      [3, 'Archive', false],
      [4, 'Weekly', true],
    ])
  })
})
