/** `/api/backup-schedules/` (read side) and the bulk assignment under `/api/scheduled-backups/`. */

import { api, type Paginated } from './client'
import type { DeviceSchedule } from './devices'

export type ScheduleType = 'daily' | 'weekly' | 'monthly' | 'cron' | (string & {})

/** A schedule as `/api/backup-schedules/` lists it: the fields nested in a device, and more. */
export interface BackupSchedule extends DeviceSchedule {
  /** Enabled devices the user may see. */
  device_count: number
  /** e.g. "Daily at 02:00" */
  description: string
  /** The next (up to 5) ISO UTC instants; empty for a disabled schedule. */
  next_runs: string[]
}

/** Large enough for every schedule on one page (the select lists them all). */
export const ALL_SCHEDULES_PAGE_SIZE = 500

export async function listSchedules(): Promise<BackupSchedule[]> {
  const page = await api.get<Paginated<BackupSchedule>>('/api/backup-schedules/', {
    page_size: ALL_SCHEDULES_PAGE_SIZE,
  })
  return page.results
}

export interface BulkAssignResult {
  updated: number
}

/** All-or-nothing; 400 `{"device_ids": [...]}` or `{"schedule_id": [...]}`. */
export function bulkAssignSchedule(scheduleId: number | null, deviceIds: number[]): Promise<BulkAssignResult> {
  return api.post<BulkAssignResult>('/api/scheduled-backups/bulk-assign/', {
    schedule_id: scheduleId,
    device_ids: deviceIds,
  })
}
