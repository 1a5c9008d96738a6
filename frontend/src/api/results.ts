/** `/api/scheduled-backups/history/` and `/analytics/`: what ran, how it went. */

import { api, type QueryParams, type ResponseBody } from './client'
import type { components } from './schema'

export type BackupResult = components['schemas']['BackupResult'] & {
  /** From the second wave (may be missing on an older server). */
  attempts?: number
  skip_reason?: string
}
export type ResultStatus = components['schemas']['ResultStatusEnum']
export type ResultPage = Omit<ResponseBody<'/api/scheduled-backups/history/', 'get'>, 'results'> & {
  results: BackupResult[]
}
export type HistoryQuery = QueryParams<'/api/scheduled-backups/history/', 'get'>

export type Analytics = components['schemas']['Analytics']
export type AnalyticsGroup = components['schemas']['AnalyticsGroup']
export type AnalyticsGroupBy = NonNullable<QueryParams<'/api/scheduled-backups/analytics/', 'get'>['group_by']>

export function listResults(query: HistoryQuery, signal?: AbortSignal): Promise<ResultPage> {
  return api.get('/api/scheduled-backups/history/', { query, signal }) as Promise<ResultPage>
}

export function fetchAnalytics(
  query: { start?: string; end?: string; group_by: AnalyticsGroupBy },
  signal?: AbortSignal,
): Promise<Analytics> {
  return api.get('/api/scheduled-backups/analytics/', { query, signal })
}

/** Run a schedule now for its devices the user may see; `{"enqueued": n}`. */
export function runScheduleNow(scheduleId: number): Promise<{ enqueued: number }> {
  return api.post('/api/scheduled-backups/{id}/test/', undefined as never, { path: { id: scheduleId } })
}
