/** `/api/scheduled-backups/calendar/`: the schedule occurrences per local date. */

import { api, type ResponseBody } from './client'

/** Every date of the window (`YYYY-MM-DD`, in order) → its entries, sorted by time then name. */
export type CalendarDays = ResponseBody<'/api/scheduled-backups/calendar/', 'get'>
/**
 * One schedule's occurrence on a day; `time` is the local wall-clock `HH:MM` it fires at.
 * Occurrences at or before now carry `results` (counts by status, `{}` when none ran) and
 * every entry `devices_truncated` (DESIGN.md, second wave); both optional until every
 * server sends them.
 */
export type CalendarEntry = CalendarDays[string][number] & {
  results?: Partial<Record<string, number>>
  devices_truncated?: boolean
}
export type CalendarDevice = CalendarEntry['devices'][number]

/** The window's entries; `days` out of the API's range is its 400 (`ApiError`). */
export function fetchCalendar(start: string, days: number, signal?: AbortSignal): Promise<CalendarDays> {
  return api.get('/api/scheduled-backups/calendar/', { query: { start, days }, signal })
}
