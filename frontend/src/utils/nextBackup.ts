/** Human wording for a device's next scheduled backup, computed in the display time zone. */

import { addDays, dateInTimeZone, daysBetween, formatShortDate, timeInTimeZone } from './time'

export const NOT_SCHEDULED = 'Not scheduled'
export const DUE_NOW = 'Due now'

const MINUTE_MS = 60_000
const HOUR_MS = 60 * MINUTE_MS
/** Relative wording ("In 3 hours") is used below this; "Today at 14:00" from here on. */
export const RELATIVE_LIMIT_MS = 6 * HOUR_MS
/** Dates further ahead than this carry their year ("Mon 3 Feb 2031 at 02:00"). */
const SHOW_YEAR_AFTER_DAYS = 180

function plural(count: number, unit: string): string {
  return `${count} ${unit}${count === 1 ? '' : 's'}`
}

/**
 * Wording for the "Next Scheduled Backup" column.
 *
 * - `null` (no schedule, disabled schedule, disabled device or nothing planned; see
 *   the API's `next_backup`) → "Not scheduled"
 * - already due (the scheduler has not picked it up yet) → "Due now"
 * - same local day, under 1 hour → "In 25 minutes" (rounded, at least 1)
 * - same local day, under 6 hours → "In 3 hours" (rounded down)
 * - same local day, 6 hours or more → "Today at 20:00"
 * - next local day → "Tomorrow at 00:30"
 * - later → "Mon 3 Feb at 02:00" (year appended when more than 180 days away)
 *
 * "Same day" and "tomorrow" are calendar dates in `timeZone`, while the relative
 * durations are real elapsed time, so they stay right across DST changes.
 */
export function formatNextBackup(nextRunAtIso: string | null, now: Date, timeZone: string): string {
  if (!nextRunAtIso) return NOT_SCHEDULED
  const next = new Date(nextRunAtIso)
  if (Number.isNaN(next.getTime())) return NOT_SCHEDULED

  const diffMs = next.getTime() - now.getTime()
  if (diffMs <= 0) return DUE_NOW

  const today = dateInTimeZone(now, timeZone)
  const nextDate = dateInTimeZone(next, timeZone)
  const at = timeInTimeZone(next, timeZone)

  if (nextDate === today) {
    if (diffMs < HOUR_MS) {
      return `In ${plural(Math.min(59, Math.max(1, Math.round(diffMs / MINUTE_MS))), 'minute')}`
    }
    if (diffMs < RELATIVE_LIMIT_MS) {
      return `In ${plural(Math.floor(diffMs / HOUR_MS), 'hour')}`
    }
    return `Today at ${at}`
  }
  if (nextDate === addDays(today, 1)) return `Tomorrow at ${at}`
  const withYear = daysBetween(today, nextDate) > SHOW_YEAR_AFTER_DAYS
  return `${formatShortDate(nextDate, withYear)} at ${at}`
}
