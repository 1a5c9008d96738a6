/**
 * What the maintenance windows do to one run of a schedule, for the editor's preview.
 *
 * Pure: time is always an argument. The rules are the server's (schedules/policy.py, DESIGN.md
 * "Scheduling policy"):
 * - an instant t is inside a window instance when start <= t < end;
 * - only enabled windows count;
 * - a window with no device group and no collection group holds every device, one with groups
 *   only the devices of those groups (the run still happens for the others);
 * - skip wins over defer; of several defer windows holding a device, the latest end.
 *
 * A window's instances are its `next_spans` (the server's, UTC) and, for a recurring window the
 * preview understands, its starts worked out by the schedules' own rules (`previewRuns`): the
 * server lists only the next three, the preview looks further ahead.
 */

import type { MaintenanceWindow, WindowPolicy } from '../api/windows'
import { PreviewError, type PreviewScheduleType, previewRuns } from './schedulePreview'
import { dateInTimeZone, formatInstant, isValidTimeZone, timeInTimeZone } from './time'

export interface Span {
  start: Date
  end: Date
}

/** A window as the rule needs it. */
export interface HoldingWindow {
  name: string
  policy: WindowPolicy
  /** Both group lists empty: it holds every device. */
  everything: boolean
  spans: Span[]
}

/** What the windows do to one run. */
export interface RunEffect {
  /**
   * The whole run: `skip` (a window over every device skips it), `defer` (a window over every
   * device moves it to `firesAt`) or `run`.
   */
  fate: 'run' | 'skip' | 'defer'
  /** When the run fires (the run itself unless deferred). */
  firesAt: Date
  /** The window over every device that decides `fate` (defer: the one ending last). */
  window: string | null
  /** Windows scoped to groups that do more to their devices than `fate` does to all. */
  scoped: { name: string; policy: WindowPolicy; until: Date | null }[]
}

/** Starts wanted at most per window and range (a cron window every minute would be endless). */
const MAX_STARTS = 500

/**
 * The instances of `window` that can hold an instant of [from, until]: the server's
 * `next_spans` and the starts the preview works out, deduplicated, ascending. A one-off window,
 * or a cron the preview does not understand, has the server's spans only.
 */
export function windowSpans(window: MaintenanceWindow, displayTimeZone: string, from: Date, until: Date): Span[] {
  const duration = window.duration_minutes * 60_000
  const byStart = new Map<number, Span>()
  for (const span of window.next_spans) {
    const start = new Date(span.start)
    const end = new Date(span.end)
    if (!Number.isNaN(start.getTime()) && !Number.isNaN(end.getTime())) byStart.set(start.getTime(), { start, end })
  }
  const zone = window.timezone || displayTimeZone
  if (window.schedule_type !== 'once' && duration > 0 && isValidTimeZone(zone)) {
    const rule = {
      scheduleType: window.schedule_type as PreviewScheduleType,
      hour: window.hour,
      minute: window.minute,
      dayOfWeek: window.day_of_week,
      dayOfMonth: window.day_of_month,
      cronExpression: window.cron_expression,
    }
    try {
      // Starts s with from - duration < s <= until: the instances that can hold [from, until].
      let after = new Date(from.getTime() - duration)
      let found = 0
      while (found < MAX_STARTS) {
        const starts = previewRuns(rule, zone, after, 20).filter((s) => s.getTime() <= until.getTime())
        for (const start of starts) byStart.set(start.getTime(), { start, end: new Date(start.getTime() + duration) })
        found += starts.length
        if (starts.length < 20) break
        after = starts[starts.length - 1]!
      }
    } catch (e) {
      if (!(e instanceof PreviewError)) throw e
    }
  }
  return [...byStart.values()].sort((a, b) => a.start.getTime() - b.start.getTime())
}

/** The enabled windows, with their instances over [from, until]. */
export function holdingWindows(
  windows: readonly MaintenanceWindow[],
  displayTimeZone: string,
  from: Date,
  until: Date,
): HoldingWindow[] {
  return windows
    .filter((w) => w.enabled)
    .map((w) => ({
      name: w.name,
      policy: w.policy,
      everything: !w.device_groups.length && !w.collection_groups.length,
      spans: windowSpans(w, displayTimeZone, from, until),
    }))
}

/** The end of the instance of `window` holding `instant`, or null (the latest, if several do). */
export function heldUntil(window: HoldingWindow, instant: Date): Date | null {
  const t = instant.getTime()
  let end: Date | null = null
  for (const span of window.spans) {
    if (span.start.getTime() <= t && t < span.end.getTime() && (!end || span.end > end)) end = span.end
  }
  return end
}

/** What `windows` do to a run at `run`. */
export function runEffect(run: Date, windows: readonly HoldingWindow[]): RunEffect {
  const holding = windows
    .map((window) => ({ window, end: heldUntil(window, run) }))
    .filter((h): h is { window: HoldingWindow; end: Date } => h.end !== null)
  const whole = holding.filter((h) => h.window.everything)
  const skip = whole.find((h) => h.window.policy === 'skip')
  if (skip) return { fate: 'skip', firesAt: run, window: skip.window.name, scoped: [] }

  let fate: RunEffect['fate'] = 'run'
  let firesAt = run
  let window: string | null = null
  for (const h of whole) {
    if (h.end > firesAt) {
      fate = 'defer'
      firesAt = h.end
      window = h.window.name
    }
  }
  const scoped: RunEffect['scoped'] = []
  for (const h of holding.filter((h) => !h.window.everything)) {
    if (h.window.policy === 'skip') scoped.push({ name: h.window.name, policy: 'skip', until: null })
    // Their devices go at the latest end: a scoped window ending earlier changes nothing.
    else if (h.end > firesAt) scoped.push({ name: h.window.name, policy: 'defer', until: h.end })
  }
  return { fate, firesAt, window, scoped }
}

/** One line of the preview about the windows. */
export interface EffectLine {
  policy: WindowPolicy
  /** True when the window holds every device. */
  everything: boolean
  text: string
}

/** "HH:MM" of `instant` in `zone`, with the date when that is not the run's local date. */
function at(instant: Date, run: Date, zone: string): string {
  return dateInTimeZone(instant, zone) === dateInTimeZone(run, zone)
    ? timeInTimeZone(instant, zone)
    : formatInstant(instant.toISOString(), zone)
}

/** " · Australia/Sydney: 16:30" when the display zone is not the schedule's zone. */
function inDisplayZone(instant: Date, run: Date, zone: string, displayTimeZone: string): string {
  return zone === displayTimeZone ? '' : ` · ${displayTimeZone}: ${at(instant, run, displayTimeZone)}`
}

/**
 * The preview's lines for `effect`: "Skipped: inside maintenance window “X”", "Deferred to 03:00
 * (end of “X”)", "Devices of “Y”'s groups are skipped" or "… are deferred to 04:00". Times in
 * the schedule's zone `zone`, then in the display zone when that is another one.
 */
export function describeRunEffect(effect: RunEffect, run: Date, zone: string, displayTimeZone: string): EffectLine[] {
  const lines: EffectLine[] = []
  if (effect.fate === 'skip') {
    lines.push({ policy: 'skip', everything: true, text: `Skipped: inside maintenance window “${effect.window}”` })
  } else if (effect.fate === 'defer') {
    const firesAt = effect.firesAt
    lines.push({
      policy: 'defer',
      everything: true,
      text: `Deferred to ${at(firesAt, run, zone)} (end of “${effect.window}”)${inDisplayZone(firesAt, run, zone, displayTimeZone)}`,
    })
  }
  for (const s of effect.scoped) {
    const what =
      s.policy === 'skip' || !s.until
        ? 'skipped'
        : `deferred to ${at(s.until, run, zone)}${inDisplayZone(s.until, run, zone, displayTimeZone)}`
    lines.push({ policy: s.policy, everything: false, text: `Devices of “${s.name}”'s groups are ${what}` })
  }
  return lines
}
