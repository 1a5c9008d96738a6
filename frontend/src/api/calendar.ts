/** `/api/scheduled-backups/calendar/`: the schedule occurrences per local date. */

import { api } from './client'

export interface CalendarDevice {
  id: number
  name: string
  ip_address: string
}

export interface CalendarEntry {
  schedule_id: number
  schedule_name: string
  /** Local wall-clock `HH:MM` in the display time zone. */
  time: string
  /** All the devices you may see on this occurrence; `devices` lists at most 50 of them. */
  device_count: number
  /** The first devices by name (at most 50). */
  devices: CalendarDevice[]
  /** True when `devices` leaves some of the `device_count` out. */
  devices_truncated: boolean
}

/** Every date of the window (`YYYY-MM-DD`, in order) → its entries, sorted by time then name. */
export type CalendarDays = Record<string, CalendarEntry[]>

export const CALENDAR_MAX_DAYS = 366

export function fetchCalendar(start: string, days: number, signal?: AbortSignal): Promise<CalendarDays> {
  if (!Number.isInteger(days) || days < 1 || days > CALENDAR_MAX_DAYS) {
    throw new RangeError(`days must be 1..${CALENDAR_MAX_DAYS}, got ${days}`)
  }
  return api.get<CalendarDays>('/api/scheduled-backups/calendar/', { start, days }, signal)
}
