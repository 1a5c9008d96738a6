/** Wording and colours of backup outcomes: one result's status, and an occurrence's counts. */

export type Status = 'queued' | 'running' | 'success' | 'failed' | 'missed_window' | 'skipped'

export const STATUSES: readonly Status[] = ['success', 'failed', 'missed_window', 'skipped', 'running', 'queued']

const LABELS: Record<Status, string> = {
  queued: 'Queued',
  running: 'Running',
  success: 'Success',
  failed: 'Failed',
  missed_window: 'Missed window',
  skipped: 'Skipped',
}

/** Quasar colour names; each keeps white text readable. */
const COLORS: Record<Status, string> = {
  queued: 'blue-grey-6',
  running: 'blue-7',
  success: 'positive',
  failed: 'negative',
  missed_window: 'orange-9',
  skipped: 'grey-7',
}

const ICONS: Record<Status, string> = {
  queued: 'schedule',
  running: 'autorenew',
  success: 'check_circle',
  failed: 'error',
  missed_window: 'alarm_off',
  skipped: 'block',
}

function known(status: string): status is Status {
  return status in LABELS
}

export function statusLabel(status: string): string {
  return known(status) ? LABELS[status] : status
}

export function statusColor(status: string): string {
  return known(status) ? COLORS[status] : 'grey-6'
}

export function statusIcon(status: string): string {
  return known(status) ? ICONS[status] : 'help'
}

/** An occurrence's outcome from its `results` counts (calendar entries at or before now). */
export type Outcome = 'succeeded' | 'some_failed' | 'missed' | 'in_progress' | 'nothing_ran'

export const OUTCOME_LABELS: Record<Outcome, string> = {
  succeeded: 'All succeeded',
  some_failed: 'Some failed',
  missed: 'Missed or skipped',
  in_progress: 'Still running',
  nothing_ran: 'Nothing ran',
}

/** Quasar colour class per outcome (badge background). */
export const OUTCOME_COLORS: Record<Outcome, string> = {
  succeeded: 'green-8',
  some_failed: 'red-8',
  missed: 'orange-9',
  in_progress: 'blue-7',
  nothing_ran: 'grey-6',
}

/**
 * A failure wins over everything; then a miss or skip; then work still queued or running;
 * all successes is "succeeded"; no result at all is "nothing ran".
 */
export function outcomeOf(results: Partial<Record<string, number>>): Outcome {
  const n = (status: string) => results[status] ?? 0
  const total = Object.values(results).reduce<number>((sum, v) => sum + (v ?? 0), 0)
  if (total === 0) return 'nothing_ran'
  if (n('failed') > 0) return 'some_failed'
  if (n('missed_window') + n('skipped') > 0) return 'missed'
  if (n('queued') + n('running') > 0) return 'in_progress'
  return 'succeeded'
}

/** "3 success, 1 failed" in the order of `STATUSES`; "no results" when empty. */
export function describeCounts(results: Partial<Record<string, number>>): string {
  const parts = STATUSES.filter((s) => (results[s] ?? 0) > 0).map((s) => `${results[s]} ${statusLabel(s).toLowerCase()}`)
  const others = Object.keys(results).filter((s) => !known(s) && (results[s] ?? 0) > 0)
  parts.push(...others.map((s) => `${results[s]} ${s}`))
  return parts.length ? parts.join(', ') : 'no results'
}

/** Seconds between two ISO instants, or null when either is missing. */
export function durationSeconds(startedAt: string | null | undefined, finishedAt: string | null | undefined): number | null {
  if (!startedAt || !finishedAt) return null
  const ms = new Date(finishedAt).getTime() - new Date(startedAt).getTime()
  return Number.isFinite(ms) ? Math.max(0, ms / 1000) : null
}

/** "850 ms", "12.4 s", "3 min 05 s", "1 h 02 min"; "—" for null. */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds == null || !Number.isFinite(seconds)) return '—'
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`
  if (seconds < 60) return `${seconds < 10 ? seconds.toFixed(1) : Math.round(seconds)} s`
  const total = Math.round(seconds)
  if (total < 3600) return `${Math.floor(total / 60)} min ${String(total % 60).padStart(2, '0')} s`
  return `${Math.floor(total / 3600)} h ${String(Math.floor((total % 3600) / 60)).padStart(2, '0')} min`
}

/** "just now", "5 minutes ago", "3 hours ago", "2 days ago" (future instants: "in 5 minutes"). */
export function formatRelative(iso: string, now: Date): string {
  const then = new Date(iso).getTime()
  if (Number.isNaN(then)) return iso
  const seconds = Math.round((now.getTime() - then) / 1000)
  const future = seconds < 0
  const abs = Math.abs(seconds)
  if (abs < 45) return 'just now'
  const [value, unit] =
    abs < 3600 ? [Math.max(1, Math.round(abs / 60)), 'minute']
      : abs < 86_400 ? [Math.round(abs / 3600), 'hour']
        : [Math.round(abs / 86_400), 'day']
  const text = `${value} ${unit}${value === 1 ? '' : 's'}`
  return future ? `in ${text}` : `${text} ago`
}

/** "1.2 KB" style sizes. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`
}
