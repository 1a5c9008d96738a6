/** Options of the "Backup Schedule" picker, built from the schedules list and the device's current one. */

import type { DeviceSchedule } from '../api/devices'
import type { BackupSchedule } from '../api/schedules'

/** QSelect treats null as "nothing chosen", so an explicit "No schedule" needs its own value. */
export const NO_SCHEDULE = 'none' as const

export interface ScheduleOption {
  label: string
  value: number | typeof NO_SCHEDULE
  description: string
  enabled: boolean
  nextRuns: string[]
}

export const NO_SCHEDULE_OPTION: ScheduleOption = {
  label: 'No schedule',
  value: NO_SCHEDULE,
  description: 'Clear the schedule: no automatic backups',
  enabled: true,
  nextRuns: [],
}

/**
 * One option per schedule, by name. The device's current schedule is kept even
 * if the list does not contain it (so the select never shows a bare id).
 */
export function scheduleOptions(
  schedules: readonly BackupSchedule[],
  current: DeviceSchedule | null,
  { noScheduleOption = false }: { noScheduleOption?: boolean } = {},
): ScheduleOption[] {
  const options: ScheduleOption[] = schedules.map((s) => ({
    label: s.name,
    value: s.id,
    description: s.description,
    enabled: s.enabled,
    nextRuns: s.next_runs,
  }))
  if (current && !options.some((o) => o.value === current.id)) {
    options.push({
      label: current.name,
      value: current.id,
      description: '',
      enabled: current.enabled,
      nextRuns: current.enabled && current.next_run_at ? [current.next_run_at] : [],
    })
  }
  options.sort((a, b) => a.label.localeCompare(b.label) || Number(a.value) - Number(b.value))
  return noScheduleOption ? [NO_SCHEDULE_OPTION, ...options] : options
}
