/** `/api/backup-schedules/` (list, create, update, delete) and the bulk assignment under `/api/scheduled-backups/`. */

import { api, type ResponseBody } from './client'
import type { components } from './schema'

export type ScheduleType = components['schemas']['ScheduleTypeEnum']
/** A schedule as `/api/backup-schedules/` lists it, with its description and next runs. */
export type BackupSchedule = components['schemas']['BackupSchedule']
/** The writable fields of a schedule (POST, and PATCH with every field). */
export type BackupScheduleInput = components['schemas']['BackupScheduleRequest']
export type OverlapPolicy = components['schemas']['OverlapPolicyEnum']
/** Why the next occurrence may not collect every device in time (null on a schedule: none). */
export type CapacityWarning = NonNullable<BackupSchedule['capacity_warning']>
export type BulkAssignResult = ResponseBody<'/api/scheduled-backups/bulk-assign/', 'post'>

/**
 * Every schedule (the selects list them all), page after page until `next` is null: the
 * server decides the page size, so the app keeps no copy of its limits.
 */
export async function listSchedules(): Promise<BackupSchedule[]> {
  const schedules: BackupSchedule[] = []
  for (let page = 1; ; page += 1) {
    const answer = await api.get('/api/backup-schedules/', { query: { page } })
    schedules.push(...answer.results)
    if (answer.next === null || answer.results.length === 0) return schedules
  }
}

/** All-or-nothing; 400 `{"device_ids": [...]}` or `{"schedule_id": [...]}`. */
export function bulkAssignSchedule(scheduleId: number | null, deviceIds: number[]): Promise<BulkAssignResult> {
  return api.post('/api/scheduled-backups/bulk-assign/', { schedule_id: scheduleId, device_ids: deviceIds })
}

/** Staff only; 400 gives a list of messages per field (`{"day_of_week": ["..."]}`). */
export function createSchedule(input: BackupScheduleInput): Promise<BackupSchedule> {
  return api.post('/api/backup-schedules/', input)
}

/** Every field at once (PATCH: the client has no PUT); same errors as create. */
export function updateSchedule(id: number, input: BackupScheduleInput): Promise<BackupSchedule> {
  return api.patch('/api/backup-schedules/{id}/', input, { path: { id } })
}

/** Staff only; 204. Devices on the schedule are left without one. */
export async function deleteSchedule(id: number): Promise<void> {
  await api.delete('/api/backup-schedules/{id}/', { path: { id } })
}
