/** `/api/notification-channels/`, `/api/notification-rules/` and `/api/notifications/`: alerting. */

import { api, type RequestBody } from './client'
import type { components } from './schema'

export type NotificationChannel = components['schemas']['NotificationChannel']
export type ChannelInput = RequestBody<'/api/notification-channels/', 'post'>
export type NotificationRule = components['schemas']['NotificationRule']
export type RuleInput = RequestBody<'/api/notification-rules/', 'post'>
export type RuleEvent = components['schemas']['EventsEnum']
export type Notification = components['schemas']['Notification']
export type DeviceGroupChoice = components['schemas']['DeviceGroupChoice']
export type TestSend = components['schemas']['TestSend']

/** The events a rule may ask for, in the order the API lists them. */
export const RULE_EVENTS: { value: RuleEvent; label: string }[] = [
  { value: 'backup_failed', label: 'Backup failed' },
  { value: 'missed_window', label: 'Missed window' },
  { value: 'stale', label: 'Stale' },
  { value: 'config_changed', label: 'Configuration changed' },
  { value: 'scheduler_down', label: 'Scheduler down' },
  { value: 'recovered', label: 'Recovered' },
]

/** Every page of a paginated list. */
async function all<T>(load: (page: number) => Promise<{ results: T[]; next: string | null }>): Promise<T[]> {
  const items: T[] = []
  for (let page = 1; ; page += 1) {
    const answer = await load(page)
    items.push(...answer.results)
    if (answer.next === null || answer.results.length === 0) return items
  }
}

export function listChannels(): Promise<NotificationChannel[]> {
  return all((page) => api.get('/api/notification-channels/', { query: { page } }))
}

export function saveChannel(id: number | null, input: ChannelInput): Promise<NotificationChannel> {
  return id === null
    ? api.post('/api/notification-channels/', input)
    : api.patch('/api/notification-channels/{id}/', input, { path: { id } })
}

export function deleteChannel(id: number): Promise<unknown> {
  return api.delete('/api/notification-channels/{id}/', { path: { id } })
}

export function testChannel(id: number): Promise<TestSend> {
  return api.post('/api/notification-channels/{id}/test/', undefined as never, { path: { id } })
}

export function listRules(): Promise<NotificationRule[]> {
  return all((page) => api.get('/api/notification-rules/', { query: { page } }))
}

export function saveRule(id: number | null, input: RuleInput): Promise<NotificationRule> {
  return id === null
    ? api.post('/api/notification-rules/', input)
    : api.patch('/api/notification-rules/{id}/', input, { path: { id } })
}

export function deleteRule(id: number): Promise<unknown> {
  return api.delete('/api/notification-rules/{id}/', { path: { id } })
}

export function listRuleDeviceGroups(): Promise<DeviceGroupChoice[]> {
  return api.get('/api/notification-rules/device-groups/')
}

/** The newest notifications (one page). */
export async function listNotifications(pageSize = 50): Promise<Notification[]> {
  const answer = await api.get('/api/notifications/', { query: { page_size: pageSize } })
  return answer.results
}
