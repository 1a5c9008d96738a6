/** The maintenance-window editor's form, the body sent to the API, and how a window is described. */

import type { MaintenanceWindow, MaintenanceWindowInput, WindowPolicy, WindowType } from '../api/windows'
import { dateInTimeZone, formatInstant, isValidTimeZone, timeInTimeZone, zonedInstant } from './time'

/** What the editor edits; numbers are null while their input is empty. */
export interface WindowForm {
  name: string
  enabled: boolean
  /** IANA name; null = the display timezone. */
  timezone: string | null
  schedule_type: WindowType
  /** `once`: the local date (`YYYY-MM-DD`) of its start, in the window's zone. */
  date: string
  /** The start's wall-clock time (every type), in the window's zone. */
  hour: number | null
  minute: number | null
  /** 0 = Monday … 6 = Sunday. */
  day_of_week: number | null
  day_of_month: number | null
  cron_expression: string
  duration_minutes: number | null
  policy: WindowPolicy
  device_groups: number[]
  collection_groups: number[]
}

/** Every field the API may report an error for (`start` is shown under the date). */
export const WINDOW_FIELDS = [
  'name',
  'enabled',
  'timezone',
  'schedule_type',
  'start',
  'hour',
  'minute',
  'day_of_week',
  'day_of_month',
  'cron_expression',
  'duration_minutes',
  'policy',
  'device_groups',
  'collection_groups',
] as const

export type WindowField = (typeof WINDOW_FIELDS)[number]

export const WEEKDAY_NAMES = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'] as const

/** The model's defaults (devices/models.py), with a night-time start. */
export function emptyWindowForm(): WindowForm {
  return {
    name: '',
    enabled: true,
    timezone: null,
    schedule_type: 'daily',
    date: '',
    hour: 23,
    minute: 0,
    day_of_week: null,
    day_of_month: null,
    cron_expression: '',
    duration_minutes: 60,
    policy: 'skip',
    device_groups: [],
    collection_groups: [],
  }
}

export function pad2(value: number): string {
  return String(value).padStart(2, '0')
}

/** The form of a saved window; a one-off start is read in the window's zone. */
export function formFromWindow(window: MaintenanceWindow, displayTimeZone: string): WindowForm {
  const form: WindowForm = {
    name: window.name,
    enabled: window.enabled,
    timezone: window.timezone || null,
    schedule_type: window.schedule_type,
    date: '',
    hour: window.hour,
    minute: window.minute,
    day_of_week: window.day_of_week,
    day_of_month: window.day_of_month,
    cron_expression: window.cron_expression ?? '',
    duration_minutes: window.duration_minutes,
    policy: window.policy,
    device_groups: [...window.device_groups],
    collection_groups: [...window.collection_groups],
  }
  if (window.schedule_type === 'once' && window.start) {
    const zone = zoneOf(form.timezone, displayTimeZone)
    const start = new Date(window.start)
    form.date = dateInTimeZone(start, zone)
    const [hour, minute] = timeInTimeZone(start, zone).split(':').map(Number)
    form.hour = hour!
    form.minute = minute!
  }
  return form
}

function zoneOf(timezone: string | null, displayTimeZone: string): string {
  return timezone && isValidTimeZone(timezone) ? timezone : displayTimeZone
}

/**
 * The one-off start as a UTC ISO instant, or null while the date or time is incomplete (the
 * server then names the missing start).
 */
export function startFromForm(form: WindowForm, displayTimeZone: string): string | null {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(form.date) || form.hour === null || form.minute === null) return null
  if (form.hour < 0 || form.hour > 23 || form.minute < 0 || form.minute > 59) return null
  const zone = zoneOf(form.timezone, displayTimeZone)
  return zonedInstant(form.date, `${pad2(form.hour)}:${pad2(form.minute)}`, zone).toISOString().replace('.000Z', 'Z')
}

/**
 * The request body: every field, with the ones the type does not use cleared. A one-off
 * window sends its start (UTC) and no hour or minute; the others send no start.
 */
export function inputFromWindowForm(form: WindowForm, displayTimeZone: string): MaintenanceWindowInput {
  const type = form.schedule_type
  const input: MaintenanceWindowInput = {
    name: form.name,
    enabled: form.enabled,
    timezone: form.timezone || null,
    schedule_type: type,
    start: type === 'once' ? startFromForm(form, displayTimeZone) : null,
    day_of_week: type === 'weekly' ? form.day_of_week : null,
    day_of_month: type === 'monthly' ? form.day_of_month : null,
    cron_expression: type === 'cron' ? form.cron_expression : '',
    // null is refused with a message on the field: better than a silent default.
    duration_minutes: form.duration_minutes as number,
    policy: form.policy,
    device_groups: [...form.device_groups],
    collection_groups: [...form.collection_groups],
  }
  if (type !== 'once' && type !== 'cron') {
    input.hour = form.hour as number
    input.minute = form.minute as number
  }
  return input
}

/** "45 min", "3 h", "1 h 30 min", "7 d". */
export function formatMinutes(minutes: number): string {
  const days = Math.floor(minutes / 1440)
  const hours = Math.floor((minutes % 1440) / 60)
  const rest = minutes % 60
  const parts: string[] = []
  if (days) parts.push(`${days} d`)
  if (hours) parts.push(`${hours} h`)
  if (rest || !parts.length) parts.push(`${rest} min`)
  return parts.join(' ')
}

/**
 * When the window is: "Daily 23:00 for 3 h", "Weekly Sunday 22:00 for 4 h", "Monthly on day 31
 * at 23:00 for 2 h", "Cron 0 22 * * 6 for 2 h", or "Once Sat 5 Jun 2027 at 22:00 for 4 h" (a
 * one-off start in the display timezone). Recurring times are in the window's own zone,
 * named when it is not the display timezone.
 */
export function describeWindow(window: MaintenanceWindow, displayTimeZone: string): string {
  const duration = `for ${formatMinutes(window.duration_minutes)}`
  const at = `${pad2(window.hour)}:${pad2(window.minute)}`
  const zone = window.timezone && window.timezone !== displayTimeZone ? ` (${window.timezone})` : ''
  switch (window.schedule_type) {
    case 'once':
      return window.start ? `Once ${formatInstant(window.start, displayTimeZone)} ${duration}` : `Once (no start) ${duration}`
    case 'daily':
      return `Daily ${at} ${duration}${zone}`
    case 'weekly':
      return `Weekly ${WEEKDAY_NAMES[window.day_of_week ?? -1] ?? '?'} ${at} ${duration}${zone}`
    case 'monthly':
      return `Monthly on day ${window.day_of_month ?? '?'} at ${at} ${duration}${zone}`
    case 'cron':
      return `Cron ${window.cron_expression} ${duration}${zone}`
  }
}

/** "Sat 5 Jun 2027 at 22:00 – 02:00" (the end's date too when it is another day). */
export function describeSpan(span: { start?: string; end?: string }, displayTimeZone: string): string {
  if (!span.start || !span.end) return ''
  const start = new Date(span.start)
  const end = new Date(span.end)
  const sameDay = dateInTimeZone(start, displayTimeZone) === dateInTimeZone(end, displayTimeZone)
  const until = sameDay ? timeInTimeZone(end, displayTimeZone) : formatInstant(span.end, displayTimeZone)
  return `${formatInstant(span.start, displayTimeZone)} – ${until}`
}

/** Names of known groups by id; an unknown id is shown as "#7". */
export type GroupNames = ReadonlyMap<number, string>

/** "Every device", or "Device groups: core, branch · Collection groups: #3". */
export function describeScope(
  window: Pick<MaintenanceWindow, 'device_groups' | 'collection_groups'>,
  deviceGroups: GroupNames,
  collectionGroups: GroupNames,
): string {
  if (!window.device_groups.length && !window.collection_groups.length) return 'Every device'
  const names = (ids: number[], known: GroupNames) => ids.map((id) => known.get(id) ?? `#${id}`).join(', ')
  const parts: string[] = []
  if (window.device_groups.length) parts.push(`Device groups: ${names(window.device_groups, deviceGroups)}`)
  if (window.collection_groups.length) {
    parts.push(`Collection groups: ${names(window.collection_groups, collectionGroups)}`)
  }
  return parts.join(' · ')
}

/** A schedule's capacity warning in short: "needs ~25 min, has 10 min". */
export function describeCapacity(warning: { estimated_seconds: number; available_seconds: number }): string {
  const needs = Math.max(1, Math.ceil(warning.estimated_seconds / 60))
  const has = Math.max(0, Math.floor(warning.available_seconds / 60))
  return `needs ~${formatMinutes(needs)}, has ${formatMinutes(has)}`
}
