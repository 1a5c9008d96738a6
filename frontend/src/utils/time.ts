/** Calendar-date and wall-clock helpers for a named IANA time zone (Intl only, no date library). */

/** A calendar date as `YYYY-MM-DD`. */
export type IsoDate = string

export interface ZonedParts {
  year: number
  /** 1..12 */
  month: number
  day: number
  hour: number
  minute: number
  second: number
}

export const MONTH_NAMES = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
] as const

export const MONTH_SHORT = MONTH_NAMES.map((name) => name.slice(0, 3))

/** Monday-first, as the calendar grid is laid out. */
export const WEEKDAY_SHORT_MONDAY_FIRST = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'] as const

// Index by Date#getUTCDay() (0 = Sunday).
const WEEKDAY_SHORT_SUNDAY_FIRST = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'] as const

const formatterCache = new Map<string, Intl.DateTimeFormat>()

function partsFormatter(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatterCache.get(timeZone)
  if (!formatter) {
    // Numeric parts only: month/weekday names come from our own tables so the
    // output does not depend on the browser's locale data ("Sep" vs "Sept").
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone,
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
      hourCycle: 'h23',
    })
    formatterCache.set(timeZone, formatter)
  }
  return formatter
}

/** True when `timeZone` is an IANA name this browser knows. */
export function isValidTimeZone(timeZone: string): boolean {
  try {
    partsFormatter(timeZone)
    return true
  } catch {
    return false
  }
}

/** The wall-clock fields of `instant` in `timeZone`. */
export function zonedParts(instant: Date, timeZone: string): ZonedParts {
  const values: Record<string, number> = {}
  for (const part of partsFormatter(timeZone).formatToParts(instant)) {
    if (part.type !== 'literal') values[part.type] = Number(part.value)
  }
  return {
    year: values.year!,
    month: values.month!,
    day: values.day!,
    // Some engines still print midnight as "24" even with h23.
    hour: values.hour! % 24,
    minute: values.minute!,
    second: values.second!,
  }
}

function pad2(value: number): string {
  return String(value).padStart(2, '0')
}

/** `YYYY-MM-DD` from numeric fields (month 1..12). */
export function toIsoDate(year: number, month: number, day: number): IsoDate {
  return `${String(year).padStart(4, '0')}-${pad2(month)}-${pad2(day)}`
}

/** Parse `YYYY-MM-DD` into numbers; throws on anything else. */
export function parseIsoDate(date: IsoDate): { year: number; month: number; day: number } {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date)
  if (!match) throw new Error(`Not a YYYY-MM-DD date: ${date}`)
  return { year: Number(match[1]), month: Number(match[2]), day: Number(match[3]) }
}

/** The calendar date `days` after `date` (negative goes back); pure date arithmetic, no time zone. */
export function addDays(date: IsoDate, days: number): IsoDate {
  const { year, month, day } = parseIsoDate(date)
  const shifted = new Date(Date.UTC(year, month - 1, day + days))
  return toIsoDate(shifted.getUTCFullYear(), shifted.getUTCMonth() + 1, shifted.getUTCDate())
}

/** Whole days from `from` to `to` (both `YYYY-MM-DD`). */
export function daysBetween(from: IsoDate, to: IsoDate): number {
  const a = parseIsoDate(from)
  const b = parseIsoDate(to)
  return Math.round(
    (Date.UTC(b.year, b.month - 1, b.day) - Date.UTC(a.year, a.month - 1, a.day)) / 86_400_000,
  )
}

/** 0 = Monday … 6 = Sunday. */
export function mondayWeekdayIndex(date: IsoDate): number {
  const { year, month, day } = parseIsoDate(date)
  return (new Date(Date.UTC(year, month - 1, day)).getUTCDay() + 6) % 7
}

/** The local calendar date of `instant` in `timeZone`. */
export function dateInTimeZone(instant: Date, timeZone: string): IsoDate {
  const p = zonedParts(instant, timeZone)
  return toIsoDate(p.year, p.month, p.day)
}

/** Today's date in `timeZone` (not the browser's zone). */
export function todayInTimeZone(timeZone: string, now: Date = new Date()): IsoDate {
  return dateInTimeZone(now, timeZone)
}

/** `HH:MM` (24-hour) wall-clock time of `instant` in `timeZone`. */
export function timeInTimeZone(instant: Date, timeZone: string): string {
  const p = zonedParts(instant, timeZone)
  return `${pad2(p.hour)}:${pad2(p.minute)}`
}

/** "Mon 3 Feb" for a `YYYY-MM-DD` date, optionally with the year. */
export function formatShortDate(date: IsoDate, withYear = false): string {
  const { year, month, day } = parseIsoDate(date)
  const weekday = WEEKDAY_SHORT_SUNDAY_FIRST[new Date(Date.UTC(year, month - 1, day)).getUTCDay()]
  const base = `${weekday} ${day} ${MONTH_SHORT[month - 1]}`
  return withYear ? `${base} ${year}` : base
}

/** "Mon 3 Feb 2025 at 02:00" for an ISO instant shown in `timeZone`. */
export function formatInstant(iso: string, timeZone: string): string {
  const instant = new Date(iso)
  if (Number.isNaN(instant.getTime())) return iso
  return `${formatShortDate(dateInTimeZone(instant, timeZone), true)} at ${timeInTimeZone(instant, timeZone)}`
}

/** "November 2026". */
export function formatMonthTitle(year: number, month: number): string {
  return `${MONTH_NAMES[month - 1]} ${year}`
}

/**
 * The instant a local wall-clock `HH:MM` on `date` is in `timeZone`. In the autumn fold the
 * first (earlier) instant; a time in the spring gap moves forward by the gap (as the
 * scheduler fires it).
 */
export function zonedInstant(date: IsoDate, time: string, timeZone: string): Date {
  const { year, month, day } = parseIsoDate(date)
  const match = /^(\d{1,2}):(\d{2})$/.exec(time)
  if (!match) throw new Error(`Not an HH:MM time: ${time}`)
  const wall = Date.UTC(year, month - 1, day, Number(match[1]), Number(match[2]))
  const offsetAt = (ms: number) => {
    const p = zonedParts(new Date(ms), timeZone)
    return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second) - Math.floor(ms / 1000) * 1000
  }
  // Try the offsets in force a day either side; keep the earliest candidate that maps back.
  const candidates = [offsetAt(wall - 86_400_000), offsetAt(wall + 86_400_000)]
    .map((offset) => wall - offset)
    .sort((a, b) => a - b)
  for (const candidate of candidates) {
    if (candidate + offsetAt(candidate) === wall) return new Date(candidate)
  }
  // In the gap: the wall time does not exist; shift by the offset before the gap.
  return new Date(wall - offsetAt(wall - 86_400_000))
}
