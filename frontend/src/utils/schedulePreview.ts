/**
 * The next runs of a schedule being edited, computed in the browser (the API has no dry run).
 *
 * Pure: time is always an argument. The rules are the server's (DESIGN.md "Time rules",
 * schedules/recurrence.py), read in the schedule's own IANA zone:
 * - daily fires once on every local calendar day at hour:minute; weekly on `dayOfWeek`
 *   (Monday = 0); monthly on `dayOfMonth`, or on the last day of a month that lacks it;
 * - a local time inside a spring-forward gap fires the gap's length later (02:30 on a
 *   02:00→03:00 day fires at 03:30), still once and on that day;
 * - a local time that happens twice (fall back) fires once, at the first instant;
 * - cron: the five fields (minute hour day month weekday) match local wall-clock times the
 *   way croniter matches them (day of month OR day of week when both are restricted,
 *   weekday 0 and 7 = Sunday, names such as `mon` and `jan`); each matching wall time becomes
 *   an instant by the two rules above, and wall times shifted onto the same instant fire once.
 *   Cron extensions (`L`, `#`, `W`, `?`, hash and random values) are left to the server: the
 *   preview says it cannot show them, and the list shows the server's `next_runs` after save.
 */

import { addDays, dateInTimeZone, type IsoDate, mondayWeekdayIndex, parseIsoDate, zonedInstant, zonedParts } from './time'

export type PreviewScheduleType = 'daily' | 'weekly' | 'monthly' | 'cron'

/** The fields of a schedule that decide when it fires. */
export interface ScheduleRule {
  scheduleType: PreviewScheduleType
  hour: number
  minute: number
  /** 0 = Monday … 6 = Sunday (weekly). */
  dayOfWeek: number | null
  /** 1–31 (monthly). */
  dayOfMonth: number | null
  cronExpression: string
}

/** Why there is no preview (an incomplete rule, or a cron the preview does not understand). */
export class PreviewError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'PreviewError'
  }
}

/** A parsed 5-field cron expression: the allowed values of each field. */
export interface CronSpec {
  minutes: number[]
  hours: number[]
  days: Set<number>
  months: Set<number>
  /** 0 = Sunday … 6 = Saturday (cron's own numbering). */
  weekdays: Set<number>
  /** False when the field is `*` (matches every day). */
  daysRestricted: boolean
  weekdaysRestricted: boolean
}

const MONTH_NAMES = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec']
const WEEKDAY_NAMES = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat']

interface FieldSpec {
  label: string
  low: number
  high: number
  names?: string[]
  /** Added to a name's index (months are 1-based). */
  nameBase?: number
}

const FIELDS: FieldSpec[] = [
  { label: 'minute', low: 0, high: 59 },
  { label: 'hour', low: 0, high: 23 },
  { label: 'day of month', low: 1, high: 31 },
  { label: 'month', low: 1, high: 12, names: MONTH_NAMES, nameBase: 1 },
  { label: 'weekday', low: 0, high: 7, names: WEEKDAY_NAMES, nameBase: 0 },
]

function fieldValue(text: string, spec: FieldSpec): number {
  const lower = text.toLowerCase()
  if (spec.names) {
    const index = spec.names.indexOf(lower)
    if (index >= 0) return index + (spec.nameBase ?? 0)
  }
  if (!/^\d+$/.test(text)) throw new PreviewError(`The preview does not understand “${text}” in the ${spec.label} field.`)
  const value = Number(text)
  if (value < spec.low || value > spec.high) {
    throw new PreviewError(`${spec.label[0]!.toUpperCase()}${spec.label.slice(1)} ${value} is outside ${spec.low}–${spec.high}.`)
  }
  return value
}

function expandField(text: string, spec: FieldSpec): { values: number[]; restricted: boolean } {
  const values = new Set<number>()
  for (const element of text.split(',')) {
    const match = /^([^/]+)(?:\/(\d+))?$/.exec(element)
    if (!match) throw new PreviewError(`The preview does not understand “${element}” in the ${spec.label} field.`)
    const [, range, stepText] = match
    const step = stepText === undefined ? 1 : Number(stepText)
    if (step < 1) throw new PreviewError(`A step of 0 in the ${spec.label} field never matches.`)
    let low: number
    let high: number
    if (range === '*') {
      low = spec.low
      high = spec.label === 'weekday' ? 6 : spec.high
    } else if (range!.includes('-')) {
      const [a, b, ...rest] = range!.split('-')
      if (rest.length || a === undefined || b === undefined) {
        throw new PreviewError(`The preview does not understand “${element}” in the ${spec.label} field.`)
      }
      low = fieldValue(a, spec)
      high = fieldValue(b, spec)
      if (high < low) throw new PreviewError(`The range ${element} in the ${spec.label} field is backwards.`)
    } else {
      low = fieldValue(range!, spec)
      // croniter reads `a/n` as `a-<highest>/n`.
      high = stepText === undefined ? low : spec.label === 'weekday' ? 6 : spec.high
    }
    for (let value = low; value <= high; value += step) values.add(value)
  }
  return { values: [...values].sort((a, b) => a - b), restricted: text !== '*' }
}

/** Parse a 5-field cron expression; throws `PreviewError` with a message for the user. */
export function parseCron(expression: string): CronSpec {
  const fields = expression.trim().split(/\s+/).filter(Boolean)
  if (fields.length !== 5) {
    throw new PreviewError(`A cron expression needs exactly 5 fields (minute hour day month weekday), got ${fields.length}.`)
  }
  const [minutes, hours, days, months, weekdays] = fields.map((text, index) => expandField(text, FIELDS[index]!))
  return {
    minutes: minutes!.values,
    hours: hours!.values,
    days: new Set(days!.values),
    months: new Set(months!.values),
    weekdays: new Set(weekdays!.values.map((value) => value % 7)),
    daysRestricted: days!.restricted,
    weekdaysRestricted: weekdays!.restricted,
  }
}

function lastDayOfMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate()
}

/** True when the cron's day, month and weekday fields match `date` (croniter's day_or rule). */
export function cronMatchesDate(spec: CronSpec, date: IsoDate): boolean {
  const { month, day } = parseIsoDate(date)
  if (!spec.months.has(month)) return false
  const weekday = (mondayWeekdayIndex(date) + 1) % 7 // cron: 0 = Sunday
  const dayOk = spec.days.has(day)
  const weekdayOk = spec.weekdays.has(weekday)
  if (spec.daysRestricted && spec.weekdaysRestricted) return dayOk || weekdayOk
  return dayOk && weekdayOk
}

function pad2(value: number): string {
  return String(value).padStart(2, '0')
}

type DayMatcher = (date: IsoDate) => boolean

function ruleParts(rule: ScheduleRule): { matches: DayMatcher; times: string[]; horizonDays: number } {
  const at = [`${pad2(rule.hour)}:${pad2(rule.minute)}`]
  const checkTime = () => {
    if (!Number.isInteger(rule.hour) || rule.hour < 0 || rule.hour > 23) throw new PreviewError('Hour must be 0–23.')
    if (!Number.isInteger(rule.minute) || rule.minute < 0 || rule.minute > 59) throw new PreviewError('Minute must be 0–59.')
  }
  switch (rule.scheduleType) {
    case 'daily':
      checkTime()
      return { matches: () => true, times: at, horizonDays: 10 }
    case 'weekly': {
      checkTime()
      const dow = rule.dayOfWeek
      if (dow === null || !Number.isInteger(dow) || dow < 0 || dow > 6) throw new PreviewError('Choose a day of the week.')
      return { matches: (date) => mondayWeekdayIndex(date) === dow, times: at, horizonDays: 7 * 6 }
    }
    case 'monthly': {
      checkTime()
      const dom = rule.dayOfMonth
      if (dom === null || !Number.isInteger(dom) || dom < 1 || dom > 31) throw new PreviewError('Choose a day of the month (1–31).')
      return {
        matches: (date) => {
          const { year, month, day } = parseIsoDate(date)
          return day === Math.min(dom, lastDayOfMonth(year, month))
        },
        times: at,
        horizonDays: 31 * 6,
      }
    }
    case 'cron': {
      const spec = parseCron(rule.cronExpression)
      const times = spec.hours.flatMap((h) => spec.minutes.map((m) => `${pad2(h)}:${pad2(m)}`))
      // 30 February never comes; a leap day comes within 8 years.
      return { matches: (date) => cronMatchesDate(spec, date), times, horizonDays: 366 * 8 + 2 }
    }
    default:
      throw new PreviewError(`Unknown schedule type “${String(rule.scheduleType)}”.`)
  }
}

/**
 * The first `count` runs strictly after `after`, ascending, as instants. Throws `PreviewError`
 * when the rule is incomplete or a cron the preview does not understand; returns fewer than
 * `count` only for a cron that matches no date for years (the server refuses those).
 */
export function previewRuns(rule: ScheduleRule, timeZone: string, after: Date, count = 5): Date[] {
  if (count <= 0) return []
  const { matches, times, horizonDays } = ruleParts(rule)
  const runs: Date[] = []
  // From the day before: a run of that local day can still lie after `after`.
  let date = addDays(dateInTimeZone(after, timeZone), -1)
  for (let day = 0; day <= horizonDays * count && runs.length < count; day += 1, date = addDays(date, 1)) {
    if (!matches(date)) continue
    const instants = new Map<number, Date>()
    for (const time of times) {
      const instant = zonedInstant(date, time, timeZone)
      if (instant.getTime() > after.getTime()) instants.set(instant.getTime(), instant)
    }
    const seen = new Set(runs.map((run) => run.getTime()))
    const sorted = [...instants.values()].filter((i) => !seen.has(i.getTime())).sort((a, b) => a.getTime() - b.getTime())
    runs.push(...sorted)
  }
  return runs.slice(0, count)
}

/**
 * "between 02:00 and 02:30" (wall-clock times in `timeZone`) for a run whose devices start
 * spread over `spreadMinutes`; "(next day)" when the window ends on a later local date.
 * Null when there is no spread.
 */
export function spreadWindow(run: Date, spreadMinutes: number, timeZone: string): string | null {
  if (!spreadMinutes || spreadMinutes <= 0) return null
  const end = new Date(run.getTime() + spreadMinutes * 60_000)
  const hhmm = (instant: Date) => {
    const p = zonedParts(instant, timeZone)
    return `${pad2(p.hour)}:${pad2(p.minute)}`
  }
  const nextDay = dateInTimeZone(end, timeZone) !== dateInTimeZone(run, timeZone)
  return `between ${hhmm(run)} and ${hhmm(end)}${nextDay ? ' (next day)' : ''}`
}
