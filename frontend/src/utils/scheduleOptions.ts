/** Options for the "Backup Schedule" select, built from the schedules list and the device's current one. */

import type { DeviceSchedule } from '../api/devices'
import type { BackupSchedule } from '../api/schedules'

export interface ScheduleOption {
  label: string
  value: number
  description: string
  enabled: boolean
  nextRuns: string[]
}

/**
 * One option per schedule, by name. The device's current schedule is kept even
 * if the list does not contain it (so the select never shows a bare id).
 */
export function scheduleOptions(schedules: BackupSchedule[], current: DeviceSchedule | null): ScheduleOption[] {
  const options: ScheduleOption[] = schedules.map((s) => ({
    label: s.name,
    value: s.id,
    description: s.description,
    enabled: s.enabled,
    nextRuns: s.next_runs ?? [],
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
  return options.sort((a, b) => a.label.localeCompare(b.label) || a.value - b.value)
}
