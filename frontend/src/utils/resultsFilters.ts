/**
 * The results page's filters and the URL query they live in, so a filtered view can be
 * shared and survives a reload. `kind` (catch-up / manual / scheduled) is applied in the
 * browser: the history API has no parameter for it.
 */

import type { LocationQuery, LocationQueryRaw } from 'vue-router'

import type { BackupResult, HistoryQuery, ResultStatus } from '../api/results'

export const RESULT_KINDS = ['catchup', 'manual', 'scheduled'] as const
export type ResultKind = (typeof RESULT_KINDS)[number]

const STATUS_VALUES: readonly ResultStatus[] = ['queued', 'running', 'success', 'failed', 'missed_window', 'skipped']

export interface ResultsFilters {
  status: ResultStatus | null
  schedule: number | null
  device: number | null
  /** `YYYY-MM-DD` (local day in the display time zone), inclusive. */
  start: string | null
  end: string | null
  kind: ResultKind | null
  page: number
}

export const EMPTY_FILTERS: ResultsFilters = {
  status: null, schedule: null, device: null, start: null, end: null, kind: null, page: 1,
}

function first(value: LocationQuery[string] | undefined): string | null {
  const v = Array.isArray(value) ? value[0] : value
  return typeof v === 'string' && v !== '' ? v : null
}

function positiveInt(value: string | null): number | null {
  if (value === null || !/^\d+$/.test(value)) return null
  const n = Number(value)
  return n > 0 ? n : null
}

function isoDate(value: string | null): string | null {
  return value !== null && /^\d{4}-\d{2}-\d{2}$/.test(value) ? value : null
}

/** Filters from the route's query; anything malformed is dropped, not an error. */
export function filtersFromQuery(query: LocationQuery): ResultsFilters {
  const status = first(query.status)
  const kind = first(query.kind)
  return {
    status: status && (STATUS_VALUES as readonly string[]).includes(status) ? (status as ResultStatus) : null,
    schedule: positiveInt(first(query.schedule)),
    device: positiveInt(first(query.device)),
    start: isoDate(first(query.start)),
    end: isoDate(first(query.end)),
    kind: kind && (RESULT_KINDS as readonly string[]).includes(kind) ? (kind as ResultKind) : null,
    page: positiveInt(first(query.page)) ?? 1,
  }
}

/** The route query for `filters` (defaults left out, so the plain page has a plain URL). */
export function queryFromFilters(filters: ResultsFilters): LocationQueryRaw {
  const query: LocationQueryRaw = {}
  if (filters.status) query.status = filters.status
  if (filters.schedule) query.schedule = String(filters.schedule)
  if (filters.device) query.device = String(filters.device)
  if (filters.start) query.start = filters.start
  if (filters.end) query.end = filters.end
  if (filters.kind) query.kind = filters.kind
  if (filters.page > 1) query.page = String(filters.page)
  return query
}

/** The history API's query for `filters` (without `kind`, which the API does not know). */
export function historyQuery(filters: ResultsFilters, pageSize: number): HistoryQuery {
  return {
    status: filters.status ?? undefined,
    schedule: filters.schedule ?? undefined,
    device: filters.device ?? undefined,
    start: filters.start ?? undefined,
    end: filters.end ?? undefined,
    page: filters.page,
    page_size: pageSize,
  }
}

export function kindOf(result: Pick<BackupResult, 'is_catchup' | 'manual'>): ResultKind {
  if (result.manual) return 'manual'
  if (result.is_catchup) return 'catchup'
  return 'scheduled'
}

export function matchesKind(result: Pick<BackupResult, 'is_catchup' | 'manual'>, kind: ResultKind | null): boolean {
  return kind === null || kindOf(result) === kind
}
