// Calendar and wording helpers for the browser tests, written from the rules in
// frontend/README.md rather than imported from src/, so that the tests check the SPA
// against the documented behaviour instead of against itself.

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August',
  'September', 'October', 'November', 'December']
const WEEKDAYS_SUNDAY_FIRST = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat']

const pad2 = (n) => String(n).padStart(2, '0')

/** Wall-clock parts of `instant` in `timeZone`. */
export function zoned(instant, timeZone) {
  const parts = {}
  const format = new Intl.DateTimeFormat('en-US', {
    timeZone, year: 'numeric', month: 'numeric', day: 'numeric',
    hour: 'numeric', minute: 'numeric', hourCycle: 'h23',
  })
  for (const p of format.formatToParts(instant)) if (p.type !== 'literal') parts[p.type] = Number(p.value)
  return { year: parts.year, month: parts.month, day: parts.day, hour: parts.hour % 24, minute: parts.minute }
}

export const isoDate = (year, month, day) => `${year}-${pad2(month)}-${pad2(day)}`

/** `YYYY-MM-DD` of `instant` in `timeZone`. */
export function dateIn(instant, timeZone) {
  const p = zoned(instant, timeZone)
  return isoDate(p.year, p.month, p.day)
}

/** `HH:MM` of `instant` in `timeZone`. */
export function timeIn(instant, timeZone) {
  const p = zoned(instant, timeZone)
  return `${pad2(p.hour)}:${pad2(p.minute)}`
}

function utcDate(iso) {
  const [y, m, d] = iso.split('-').map(Number)
  return new Date(Date.UTC(y, m - 1, d))
}

export function addDays(iso, days) {
  const d = utcDate(iso)
  d.setUTCDate(d.getUTCDate() + days)
  return isoDate(d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate())
}

export const daysBetween = (from, to) => Math.round((utcDate(to) - utcDate(from)) / 86_400_000)

/** 0 = Monday … 6 = Sunday. */
export const mondayIndex = (iso) => (utcDate(iso).getUTCDay() + 6) % 7

export const monthTitle = (year, month) => `${MONTHS[month - 1]} ${year}`

export function shiftMonth({ year, month }, delta) {
  const index = year * 12 + (month - 1) + delta
  return { year: Math.floor(index / 12), month: (index % 12) + 1 }
}

/** The Monday-first grid of a month: its first cell and how many cells (whole weeks). */
export function monthWindow({ year, month }) {
  const first = isoDate(year, month, 1)
  const start = addDays(first, -mondayIndex(first))
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate()
  const last = isoDate(year, month, daysInMonth)
  const end = addDays(last, 6 - mondayIndex(last))
  return { start, days: daysBetween(start, end) + 1 }
}

/** Dates of `{year, month}` that fall on `weekday` (0 = Monday). */
export function weekdaysOf({ year, month }, weekday) {
  const out = []
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate()
  for (let day = 1; day <= daysInMonth; day++) {
    const iso = isoDate(year, month, day)
    if (mondayIndex(iso) === weekday) out.push(iso)
  }
  return out
}

function shortDate(iso, withYear) {
  const d = utcDate(iso)
  const base = `${WEEKDAYS_SUNDAY_FIRST[d.getUTCDay()]} ${d.getUTCDate()} ${MONTHS[d.getUTCMonth()].slice(0, 3)}`
  return withYear ? `${base} ${d.getUTCFullYear()}` : base
}

/** "Mon 3 Feb 2025 at 02:00": an exact instant as the SPA writes it. */
export function exactInstant(iso, timeZone) {
  const instant = new Date(iso)
  return `${shortDate(dateIn(instant, timeZone), true)} at ${timeIn(instant, timeZone)}`
}

/**
 * The "Next Scheduled Backup" wording of frontend/README.md for a next run at `iso`
 * (null: "Not scheduled") seen at `now` in `timeZone`.
 */
export function nextBackupWording(iso, now, timeZone) {
  if (!iso) return 'Not scheduled'
  const next = new Date(iso)
  const diff = next - now
  if (diff <= 0) return 'Due now'
  const today = dateIn(now, timeZone)
  const day = dateIn(next, timeZone)
  const at = timeIn(next, timeZone)
  const plural = (n, unit) => `${n} ${unit}${n === 1 ? '' : 's'}`
  if (day === today) {
    if (diff < 3_600_000) return `In ${plural(Math.min(59, Math.max(1, Math.round(diff / 60_000))), 'minute')}`
    if (diff < 6 * 3_600_000) return `In ${plural(Math.floor(diff / 3_600_000), 'hour')}`
    return `Today at ${at}`
  }
  if (day === addDays(today, 1)) return `Tomorrow at ${at}`
  return `${shortDate(day, daysBetween(today, day) > 180)} at ${at}`
}
