/** The schedule editor's form: its values, the templates, and the body sent to the API. */

import type { BackupSchedule, BackupScheduleInput, OverlapPolicy, ScheduleType } from '../api/schedules'
import type { ScheduleRule } from './schedulePreview'

/** What the editor edits; numbers are null while their input is empty. */
export interface ScheduleForm {
  name: string
  schedule_type: ScheduleType
  hour: number | null
  minute: number | null
  /** 0 = Monday … 6 = Sunday. */
  day_of_week: number | null
  day_of_month: number | null
  cron_expression: string
  enabled: boolean
  /** IANA name; null = the display timezone. */
  timezone: string | null
  priority: number | null
  spread_minutes: number | null
  overlap_policy: OverlapPolicy
}

/** Every field the API may report an error for, in the editor's order. */
export const FORM_FIELDS = [
  'name',
  'schedule_type',
  'hour',
  'minute',
  'day_of_week',
  'day_of_month',
  'cron_expression',
  'enabled',
  'timezone',
  'priority',
  'spread_minutes',
  'overlap_policy',
] as const satisfies readonly (keyof ScheduleForm)[]

export type FormField = (typeof FORM_FIELDS)[number]

/** The model's defaults (schedules/models.py). */
export function emptyForm(): ScheduleForm {
  return {
    name: '',
    schedule_type: 'daily',
    hour: 2,
    minute: 0,
    day_of_week: null,
    day_of_month: null,
    cron_expression: '',
    enabled: true,
    timezone: null,
    priority: 5,
    spread_minutes: 0,
    overlap_policy: 'skip',
  }
}

export function formFromSchedule(schedule: BackupSchedule): ScheduleForm {
  return {
    name: schedule.name,
    schedule_type: schedule.schedule_type,
    hour: schedule.hour,
    minute: schedule.minute,
    day_of_week: schedule.day_of_week,
    day_of_month: schedule.day_of_month,
    cron_expression: schedule.cron_expression ?? '',
    enabled: schedule.enabled,
    timezone: schedule.timezone || null,
    priority: schedule.priority,
    spread_minutes: schedule.spread_minutes,
    overlap_policy: schedule.overlap_policy,
  }
}

export interface ScheduleTemplate {
  id: string
  label: string
  /** The fields it sets; the rest of the form is left as it is. */
  values: Partial<ScheduleForm>
}

/** Starting points offered by the editor. */
export const SCHEDULE_TEMPLATES: readonly ScheduleTemplate[] = [
  {
    id: 'nightly',
    label: 'Nightly 02:00',
    values: { name: 'Nightly 02:00', schedule_type: 'daily', hour: 2, minute: 0 },
  },
  {
    id: 'weekly-sunday',
    label: 'Weekly Sunday 03:00',
    values: { name: 'Weekly Sunday 03:00', schedule_type: 'weekly', day_of_week: 6, hour: 3, minute: 0 },
  },
  {
    id: 'business-hours',
    label: 'Business hours every 4 h',
    values: { name: 'Business hours every 4 h', schedule_type: 'cron', cron_expression: '0 8-16/4 * * 1-5' },
  },
]

/** The form with a template applied; a name the user typed is kept (one a template gave is not). */
export function applyTemplate(form: ScheduleForm, template: ScheduleTemplate): ScheduleForm {
  const next = { ...form, ...template.values }
  const typed = form.name.trim() && !SCHEDULE_TEMPLATES.some((t) => t.values.name === form.name)
  if (typed) next.name = form.name
  return next
}

/**
 * The request body: every field, with the ones the type does not use cleared (a daily
 * schedule keeps no day of week), so the stored row says what it does. Empty numbers are
 * sent as null for the server to name; hour and minute are left out for cron, which does
 * not read them.
 */
export function inputFromForm(form: ScheduleForm): BackupScheduleInput {
  const type = form.schedule_type
  const input: BackupScheduleInput = {
    name: form.name,
    schedule_type: type,
    day_of_week: type === 'weekly' ? form.day_of_week : null,
    day_of_month: type === 'monthly' ? form.day_of_month : null,
    cron_expression: type === 'cron' ? form.cron_expression : '',
    enabled: form.enabled,
    timezone: form.timezone || null,
    // null is refused with a message on the field: better than a silent default.
    priority: form.priority as number,
    spread_minutes: form.spread_minutes as number,
    overlap_policy: form.overlap_policy,
  }
  if (type !== 'cron' || (form.hour !== null && form.minute !== null)) {
    input.hour = form.hour as number
    input.minute = form.minute as number
  }
  return input
}

/** The preview's view of the form. */
export function ruleFromForm(form: ScheduleForm): ScheduleRule {
  return {
    scheduleType: form.schedule_type,
    hour: form.hour ?? Number.NaN,
    minute: form.minute ?? Number.NaN,
    dayOfWeek: form.day_of_week,
    dayOfMonth: form.day_of_month,
    cronExpression: form.cron_expression,
  }
}

/** Per-field messages from a 400 body (`{"field": ["msg", ...]}`), plus the rest under `form`. */
export function splitFieldErrors(
  body: unknown,
): { fields: Partial<Record<FormField, string>>; other: string[] } {
  return splitErrors(body, FORM_FIELDS)
}

/** `splitFieldErrors` for any form: messages of `known` fields by field, the rest as text. */
export function splitErrors<F extends string>(
  body: unknown,
  known: readonly F[],
): { fields: Partial<Record<F, string>>; other: string[] } {
  const fields: Partial<Record<F, string>> = {}
  const other: string[] = []
  const messages = (value: unknown): string[] =>
    value == null
      ? []
      : Array.isArray(value)
        ? value.flatMap(messages)
        : typeof value === 'object'
          ? Object.values(value as Record<string, unknown>).flatMap(messages)
          : [String(value)]
  if (!body || typeof body !== 'object' || Array.isArray(body)) {
    other.push(...messages(body))
    return { fields, other }
  }
  for (const [key, value] of Object.entries(body as Record<string, unknown>)) {
    const text = messages(value).join(' ')
    if (!text) continue
    if ((known as readonly string[]).includes(key)) fields[key as F] = text
    else other.push(key === 'detail' || key === 'non_field_errors' ? text : `${key}: ${text}`)
  }
  return { fields, other }
}

/** Time zones for the select: the browser's IANA list, with UTC and any `extra` zone first. */
export function timeZoneOptions(extra: readonly (string | null | undefined)[] = []): string[] {
  const supported =
    typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : []
  const zones = new Set<string>(['UTC'])
  for (const zone of extra) if (zone) zones.add(zone)
  for (const zone of supported) zones.add(zone)
  return [...zones]
}
