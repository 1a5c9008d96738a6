/** `/api/devices/`: the device list, one device, and assigning its backup schedule. */

import { api, type Paginated } from './client'
import type { ScheduleType } from './schedules'

export interface NamedRef {
  id: number
  name: string
}

/** The schedule as nested in a device. */
export interface DeviceSchedule {
  id: number
  name: string
  schedule_type: ScheduleType
  hour: number | null
  minute: number | null
  day_of_week: number | string | null
  day_of_month: number | null
  cron_expression: string | null
  enabled: boolean
  /** ISO 8601 UTC, or null when nothing is planned. */
  next_run_at: string | null
  last_run_at: string | null
}

export interface Device {
  id: number
  name: string
  ip_address: string
  enabled: boolean
  device_group: NamedRef | null
  collection_group: NamedRef | null
  backup_schedule: DeviceSchedule | null
}

export const DEVICE_ORDERINGS = [
  'name',
  '-name',
  'ip_address',
  '-ip_address',
  'next_run_at',
  '-next_run_at',
] as const
export type DeviceOrdering = (typeof DEVICE_ORDERINGS)[number]

export interface DeviceListParams {
  page?: number
  pageSize?: number
  search?: string
  ordering?: DeviceOrdering
}

export function listDevices(params: DeviceListParams = {}, signal?: AbortSignal): Promise<Paginated<Device>> {
  return api.get<Paginated<Device>>(
    '/api/devices/',
    {
      page: params.page,
      page_size: params.pageSize,
      search: params.search?.trim(),
      ordering: params.ordering,
    },
    signal,
  )
}

export function getDevice(id: number | string): Promise<Device> {
  return api.get<Device>(`/api/devices/${encodeURIComponent(String(id))}/`)
}

/** Assign (or clear, with null) the device's schedule; 400 `{"backup_schedule_id": [...]}`, 403, 404. */
export function setDeviceSchedule(id: number, backupScheduleId: number | null): Promise<Device> {
  return api.patch<Device>(`/api/devices/${id}/`, { backup_schedule_id: backupScheduleId })
}
