import { describe, expect, it } from 'vitest'

import { scheduleOptions } from './scheduleOptions'

describe('scheduleOptions', () => {
  const base = {
    schedule_type: 'daily',
    hour: 2,
    minute: 0,
    day_of_week: null,
    day_of_month: null,
    cron_expression: null,
    next_run_at: null,
    last_run_at: null,
    device_count: 0,
  }
  it('sorts by name and keeps the current schedule even if unlisted', () => {
    const options = scheduleOptions(
      [
        { ...base, id: 2, name: 'Weekly', enabled: true, description: 'Weekly on Sun at 03:00', next_runs: ['2026-11-15T16:00:00Z'] },
        { ...base, id: 1, name: 'Daily', enabled: false, description: 'Daily at 02:00', next_runs: [] },
      ],
      { ...base, id: 9, name: 'Archive', enabled: true, next_run_at: '2026-12-01T00:00:00Z' },
    )
    expect(options.map((o) => [o.value, o.label])).toEqual([
      [9, 'Archive'],
      [1, 'Daily'],
      [2, 'Weekly'],
    ])
    expect(options[0]!.nextRuns).toEqual(['2026-12-01T00:00:00Z'])
  })
})
