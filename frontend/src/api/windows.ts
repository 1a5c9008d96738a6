/** `/api/maintenance-windows/` (list, create, update, delete) and their calendar. */

import { api } from './client'
import type { components, operations } from './schema'

/** A maintenance window as the API lists it, with its next spans (UTC). */
export type MaintenanceWindow = components['schemas']['MaintenanceWindow']
/** The writable fields (POST, and PATCH with every field). */
export type MaintenanceWindowInput = components['schemas']['MaintenanceWindowRequest']
export type WindowType = components['schemas']['MaintenanceWindowScheduleTypeEnum']
export type WindowPolicy = components['schemas']['PolicyEnum']
/**
 * Every date of the window → the spans of the enabled windows on it (local `HH:MM`, `24:00`
 * ends a span that goes on the next day).
 */
export type WindowCalendarDays =
  operations['maintenance_windows_calendar']['responses'][200]['content']['application/json']
export type WindowCalendarSpan = WindowCalendarDays[string][number]

/** Every window, page after page until `next` is null. */
export async function listWindows(): Promise<MaintenanceWindow[]> {
  const windows: MaintenanceWindow[] = []
  for (let page = 1; ; page += 1) {
    const answer = await api.get('/api/maintenance-windows/', { query: { page } })
    windows.push(...answer.results)
    if (answer.next === null || answer.results.length === 0) return windows
  }
}

/** Staff only; 400 gives a list of messages per field. */
export function createWindow(input: MaintenanceWindowInput): Promise<MaintenanceWindow> {
  return api.post('/api/maintenance-windows/', input)
}

/** Every field at once (PATCH); same errors as create. */
export function updateWindow(id: number, input: MaintenanceWindowInput): Promise<MaintenanceWindow> {
  return api.patch('/api/maintenance-windows/{id}/', input, { path: { id } })
}

/** Staff only; 204. */
export async function deleteWindow(id: number): Promise<void> {
  await api.delete('/api/maintenance-windows/{id}/', { path: { id } })
}

/** The spans of the enabled windows per local day (display timezone), for the calendar. */
export function fetchWindowCalendar(start: string, days: number, signal?: AbortSignal): Promise<WindowCalendarDays> {
  const answer = api.get('/api/maintenance-windows/calendar/', { query: { start, days }, signal })
  return answer as Promise<unknown> as Promise<WindowCalendarDays>
}
