/** The analytics API's groups as chart series and an error table (pure, for the charts). */

import type { AnalyticsGroup } from '../api/results'

export interface DaySeries {
  labels: string[]
  /** Percent 0..100, null for a day where nothing was due. */
  successRate: (number | null)[]
  p50: (number | null)[]
  p95: (number | null)[]
}

function percent(rate: number | null): number | null {
  return rate === null ? null : Math.round(rate * 1000) / 10
}

/** `group_by=day` groups (one per local day, in order) as chart series. */
export function daySeries(groups: readonly AnalyticsGroup[]): DaySeries {
  return {
    labels: groups.map((g) => g.name),
    successRate: groups.map((g) => percent(g.success_rate)),
    p50: groups.map((g) => g.duration_p50_seconds),
    p95: groups.map((g) => g.duration_p95_seconds),
  }
}

export interface OutcomeSeries {
  labels: string[]
  success: number[]
  failed: number[]
  missedWindow: number[]
  skipped: number[]
  successRate: (number | null)[]
}

/** Schedule / collection-group groups as stacked outcome counts, busiest first. */
export function outcomeSeries(groups: readonly AnalyticsGroup[]): OutcomeSeries {
  const sorted = [...groups].sort((a, b) => b.total - a.total || a.name.localeCompare(b.name))
  return {
    labels: sorted.map((g) => g.name || '(none)'),
    success: sorted.map((g) => g.success),
    failed: sorted.map((g) => g.failed),
    missedWindow: sorted.map((g) => g.missed_window),
    skipped: sorted.map((g) => g.skipped),
    successRate: sorted.map((g) => percent(g.success_rate)),
  }
}

export interface ErrorRow {
  error: string
  count: number
  /** The groups it occurred in, most first. */
  where: string[]
}

/** The errors of every group summed by text, most frequent first, at most `limit`. */
export function topErrors(groups: readonly AnalyticsGroup[], limit = 10): ErrorRow[] {
  const rows = new Map<string, { count: number; where: Map<string, number> }>()
  for (const group of groups) {
    for (const { error, count } of group.top_errors) {
      const row = rows.get(error) ?? { count: 0, where: new Map<string, number>() }
      row.count += count
      row.where.set(group.name, (row.where.get(group.name) ?? 0) + count)
      rows.set(error, row)
    }
  }
  return [...rows.entries()]
    .map(([error, row]) => ({
      error,
      count: row.count,
      where: [...row.where.entries()].sort((a, b) => b[1] - a[1]).map(([name]) => name),
    }))
    .sort((a, b) => b.count - a.count || a.error.localeCompare(b.error))
    .slice(0, limit)
}

/** Totals over the groups: results, successes, and the overall success rate (percent or null). */
export function totals(groups: readonly AnalyticsGroup[]): { total: number; success: number; due: number; rate: number | null } {
  const total = groups.reduce((n, g) => n + g.total, 0)
  const success = groups.reduce((n, g) => n + g.success, 0)
  const due = groups.reduce((n, g) => n + g.total - g.skipped, 0)
  return { total, success, due, rate: due ? Math.round((success / due) * 1000) / 10 : null }
}
