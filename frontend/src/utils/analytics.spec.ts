import { describe, expect, it } from 'vitest'

import type { AnalyticsGroup } from '../api/results'
import { daySeries, outcomeSeries, topErrors, totals } from './analytics'

function group(name: string, fields: Partial<AnalyticsGroup> = {}): AnalyticsGroup {
  return {
    id: 1, name, total: 0, success: 0, failed: 0, missed_window: 0, skipped: 0, success_rate: null,
    duration_p50_seconds: null, duration_p95_seconds: null, top_errors: [], ...fields,
  }
}

describe('analytics series', () => {
  it('turns days into percentages and durations, a day without results a gap', () => {
    const s = daySeries([
      group('2026-11-01', { total: 4, success: 3, failed: 1, success_rate: 0.75, duration_p50_seconds: 2, duration_p95_seconds: 9 }),
      group('2026-11-02'),
    ])
    expect(s).toEqual({ labels: ['2026-11-01', '2026-11-02'], successRate: [75, null], p50: [2, null], p95: [9, null] })
  })

  it('orders groups busiest first for the stacked bars', () => {
    const s = outcomeSeries([group('small', { total: 1, success: 1 }), group('big', { total: 5, failed: 5, success_rate: 0 })])
    expect(s.labels).toEqual(['big', 'small'])
    expect(s.failed).toEqual([5, 0])
    expect(s.successRate).toEqual([0, null])
  })

  it('sums the same error across groups, most frequent first', () => {
    const rows = topErrors([
      group('Nightly', { top_errors: [{ error: 'timeout', count: 2 }, { error: 'auth failed', count: 1 }] }),
      group('Weekly', { top_errors: [{ error: 'timeout', count: 5 }] }),
    ])
    expect(rows).toEqual([
      { error: 'timeout', count: 7, where: ['Weekly', 'Nightly'] },
      { error: 'auth failed', count: 1, where: ['Nightly'] },
    ])
  })

  it('computes the overall rate over the results that were due', () => {
    expect(totals([group('a', { total: 4, success: 2, skipped: 2 })])).toEqual({ total: 4, success: 2, due: 2, rate: 100 })
    expect(totals([]).rate).toBeNull()
  })
})
