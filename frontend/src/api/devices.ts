/** `/api/devices/`: the device list, one device, and assigning its backup schedule. */

import { api, type QueryParams, type ResponseBody } from './client'
import type { components } from './schema'

export type NamedRef = components['schemas']['NamedRef']
/** The schedule as nested in a device. */
export type DeviceSchedule = components['schemas']['NestedBackupSchedule']
export type Device = components['schemas']['Device']
export type DevicePage = ResponseBody<'/api/devices/', 'get'>
/** The sort keys the API offers for `?ordering=` (the schema lists them). */
export type DeviceOrdering = NonNullable<QueryParams<'/api/devices/', 'get'>['ordering']>

export interface DeviceListParams {
  page?: number
  pageSize?: number
  search?: string
  ordering?: DeviceOrdering
}

export function listDevices(params: DeviceListParams = {}, signal?: AbortSignal): Promise<DevicePage> {
  return api.get('/api/devices/', {
    query: {
      page: params.page,
      page_size: params.pageSize,
      search: params.search?.trim() || undefined,
      ordering: params.ordering,
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
