/** `/api/devices/`: the device list, one device, and assigning its backup schedule. */

import { api, type QueryParams, type ResponseBody } from './client'
import type { components } from './schema'

export type NamedRef = components['schemas']['NamedRef']
/** The schedule as nested in a device. */
export type DeviceSchedule = components['schemas']['NestedBackupSchedule']
export type Device = components['schemas']['Device']
export type DevicePage = ResponseBody<'/api/devices/', 'get'>
/** The sort keys the API offers for `?ordering=` (the schema lists them). */
/** `?backup_status=`: the last backup's status, `stale` or `never`. */
export type DeviceBackupStatusFilter = NonNullable<QueryParams<'/api/devices/', 'get'>['backup_status']>
export type LastBackup = components['schemas']['LastBackup']
export type DeviceBackup = components['schemas']['DeviceBackup']
export type DeviceBackupDetail = components['schemas']['DeviceBackupDetail']
export type BackupDiff = components['schemas']['BackupDiff']
export type DeviceBackupPage = ResponseBody<'/api/devices/{device_id}/backups/', 'get'>
export type DeviceOrdering = NonNullable<QueryParams<'/api/devices/', 'get'>['ordering']>

export interface DeviceListParams {
  page?: number
  pageSize?: number
  search?: string
  ordering?: DeviceOrdering
  backupStatus?: DeviceBackupStatusFilter
}

export function listDevices(params: DeviceListParams = {}, signal?: AbortSignal): Promise<DevicePage> {
  return api.get('/api/devices/', {
    query: {
      page: params.page,
      page_size: params.pageSize,
      search: params.search?.trim() || undefined,
      ordering: params.ordering,
      backup_status: params.backupStatus,
    },
    signal,
  })
}

export function getDevice(id: number): Promise<Device> {
  return api.get('/api/devices/{id}/', { path: { id } })
}

/** Assign (or clear, with null) the device's schedule; 400 `{"backup_schedule_id": [...]}`, 403, 404. */
export function setDeviceSchedule(id: number, backupScheduleId: number | null): Promise<Device> {
  return api.patch('/api/devices/{id}/', { backup_schedule_id: backupScheduleId }, { path: { id } })
}

/** Back the device up now (change rights): 202 `{"enqueued": 1}`; 400 for a disabled device. */
export function backupNow(id: number): Promise<{ enqueued: number }> {
  return api.post('/api/devices/{id}/backup-now/', undefined as never, { path: { id } })
}

/** The device's stored configurations, newest first. */
export function listBackups(deviceId: number, page = 1, pageSize = 20, signal?: AbortSignal): Promise<DeviceBackupPage> {
  return api.get('/api/devices/{device_id}/backups/', {
    path: { device_id: deviceId },
    query: { page, page_size: pageSize },
    signal,
  })
}

/** One stored configuration with its text. */
export function getBackup(deviceId: number, backupId: number, signal?: AbortSignal): Promise<DeviceBackupDetail> {
  return api.get('/api/devices/{device_id}/backups/{backup_id}/', {
    path: { device_id: deviceId, backup_id: backupId },
    signal,
  })
}

/** Unified diff of `backupId` against `against` (default: its previous backup). */
export function diffBackups(deviceId: number, backupId: number, against?: number, signal?: AbortSignal): Promise<BackupDiff> {
  return api.get('/api/devices/{device_id}/backups/{backup_id}/diff/', {
    path: { device_id: deviceId, backup_id: backupId },
    query: { against },
    signal,
  })
}
