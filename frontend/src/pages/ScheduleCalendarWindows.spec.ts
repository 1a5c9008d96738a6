import { afterEach, describe, expect, it, vi } from 'vitest'

import type { CalendarDays, CalendarEntry } from '../api/calendar'
import type { WindowCalendarDays } from '../api/windows'
import { mountPage, settle, stubFetch } from '../test/helpers'
import { addDays } from '../utils/time'
import ScheduleCalendarPage from './ScheduleCalendarPage.vue'

// 2026-11-10 12:00 in Sydney.
const NOW = () => new Date('2026-11-10T01:00:00Z')

const nightly: CalendarEntry = {
  schedule_id: 1,
  schedule_name: 'Nightly',
  time: '02:00',
  device_count: 2,
  devices: [{ id: 11, name: 'r1', ip_address: '127.0.0.11' }],
  devices_truncated: false,
  spread_minutes: 0,
  timezone: null,
}
const newYork: CalendarEntry = {
  ...nightly,
  schedule_id: 2,
  schedule_name: 'US core',
  time: '18:00',
  spread_minutes: 30,
  timezone: 'America/New_York',
}
const sameZone: CalendarEntry = { ...nightly, schedule_id: 3, schedule_name: 'Local', time: '20:00', timezone: 'Australia/Sydney' }

const schedule = (id: number, warning: unknown) => ({
  id,
  name: `s${id}`,
  schedule_type: 'daily',
  hour: 2,
  minute: 0,
  day_of_week: null,
  day_of_month: null,
  cron_expression: '',
  enabled: true,
  timezone: null,
  priority: 5,
  spread_minutes: 0,
  overlap_policy: 'skip',
  next_run_at: null,
  last_run_at: null,
  device_count: 2,
  description: 'Daily at 02:00',
  next_runs: [],
  capacity_warning: warning,
})

const WARNING = {
  estimated_seconds: 1500,
  available_seconds: 600,
  limited_by: 'next_occurrence',
  message: 'The devices need about 25 minutes; the next run starts 10 minutes later.',
}

function days(start: string, count: number): Record<string, never[]> {
  const result: Record<string, never[]> = {}
  for (let i = 0; i < count; i++) result[addDays(start, i)] = []
  return result
}

function handler(options: { windowsFail?: boolean; deferred?: CalendarEntry } = {}) {
  return stubFetch(({ url }) => {
    const start = url.searchParams.get('start')!
    const count = Number(url.searchParams.get('days'))
    if (url.pathname === '/api/scheduled-backups/calendar/') {
      const window: CalendarDays = days(start, count)
      window['2026-11-03'] = [nightly, newYork, sameZone]
      window['2026-11-02'] = [{ ...nightly, results: { success: 2 } }] // the past
      if (options.deferred) window['2026-11-04'] = [options.deferred]
      return { body: window }
    }
    if (url.pathname === '/api/maintenance-windows/calendar/') {
      if (options.windowsFail) return { status: 500, body: { detail: 'Windows exploded' } }
      const window: WindowCalendarDays = days(start, count)
      if ('2026-11-03' in window) {
        window['2026-11-03'] = [
          { window_id: 7, name: 'Patch night', start: '22:00', end: '24:00', policy: 'skip' },
        ]
        window['2026-11-04'] = [
          { window_id: 7, name: 'Patch night', start: '00:00', end: '01:00', policy: 'skip' },
          { window_id: 8, name: 'Core freeze', start: '09:00', end: '17:00', policy: 'defer' },
        ]
      }
      return { body: window }
    }
    if (url.pathname === '/api/backup-schedules/') {
      return { body: { count: 3, next: null, previous: null, results: [schedule(1, WARNING), schedule(2, null), schedule(3, null)] } }
    }
    return { status: 404, body: { detail: 'Not found.' } }
  })
}

afterEach(() => {
  vi.unstubAllGlobals()
})

describe('ScheduleCalendarPage: maintenance windows', () => {
  it('asks for the same days as the calendar and shades each day\'s spans by policy', async () => {
    const requests = handler()
    const { wrapper } = await mountPage(ScheduleCalendarPage, { now: NOW })
    await settle()
    const windowsRequest = requests.find((r) => r.url.pathname === '/api/maintenance-windows/calendar/')!
    expect(windowsRequest.url.searchParams.get('start')).toBe('2026-10-26')
    expect(windowsRequest.url.searchParams.get('days')).toBe('42')

    const spansOn = (date: string) =>
      wrapper.get(`[data-test="calendar-day"][data-date="${date}"]`).findAll('[data-test="calendar-window"]')
    const nov3 = spansOn('2026-11-03')
    expect(nov3).toHaveLength(1)
    expect(nov3[0]!.findAll('span').map((s) => s.text())).toEqual(['22:00–24:00', 'Patch night', 'skip'])
    expect(nov3[0]!.attributes('data-policy')).toBe('skip')
    const nov4 = spansOn('2026-11-04')
    expect(nov4.map((s) => s.attributes('data-window-id'))).toEqual(['7', '8'])
    expect(nov4[1]!.get('[data-test="calendar-window-policy"]').text()).toBe('defer')
    expect(nov4[0]!.classes()).toContain('schedule-calendar-day__window--skip')
    expect(nov4[1]!.classes()).toContain('schedule-calendar-day__window--defer')
    expect(spansOn('2026-11-05')).toHaveLength(0)
    expect(nov4[1]!.attributes('aria-label')).toBe('Maintenance window Core freeze, 09:00 to 17:00, defer')

    await nov4[1]!.trigger('pointerenter')
    await vi.waitFor(() => {
      expect(document.body.querySelector('[data-test="calendar-window-tooltip"]')).not.toBeNull()
    })
    expect(document.body.querySelector('[data-test="calendar-window-tooltip"]')!.textContent).toContain(
      'Backups inside the window run when it ends',
    )

    // A month without windows: the next grid is asked for, nothing is shaded.
    await wrapper.get('[data-test="calendar-next"]').trigger('click')
    await settle()
    expect(requests.filter((r) => r.url.pathname === '/api/maintenance-windows/calendar/').at(-1)!.url.searchParams.get('start')).toBe(
      '2026-11-30',
    )
    expect(wrapper.findAll('[data-test="calendar-window"]')).toHaveLength(0)
    // The schedules (for their capacity warnings) are not read again within the minute.
    expect(requests.filter((r) => r.url.pathname === '/api/backup-schedules/')).toHaveLength(1)
    wrapper.unmount()
  })

  it('still shows the backups when the windows cannot be read', async () => {
    handler({ windowsFail: true })
    const { wrapper } = await mountPage(ScheduleCalendarPage, { now: NOW })
    await settle()
    expect(wrapper.find('[data-test="calendar-error"]').exists()).toBe(false)
    expect(wrapper.findAll('[data-test="calendar-badge"]')).toHaveLength(4)
    expect(wrapper.get('[data-test="calendar-windows-error"]').text()).toContain('Windows exploded')
    wrapper.unmount()
  })
})

describe('ScheduleCalendarBadge: capacity, zone and spread', () => {
  it('marks the schedules with a capacity warning and names another zone and the spread', async () => {
    handler()
    const { wrapper } = await mountPage(ScheduleCalendarPage, { now: NOW })
    await settle()
    const badge = (id: number) =>
      wrapper.get(`[data-test="calendar-day"][data-date="2026-11-03"] [data-test="calendar-badge"][data-schedule-id="${id}"]`)

    expect(badge(1).find('[data-test="badge-capacity"]').exists()).toBe(true)
    expect(badge(1).attributes('aria-label')).toBe('02:00 Nightly, 2 devices, capacity warning')
    expect(badge(2).find('[data-test="badge-capacity"]').exists()).toBe(false)
    // Not on a run that already happened.
    const past = wrapper.get('[data-test="calendar-day"][data-date="2026-11-02"] [data-test="calendar-badge"]')
    expect(past.find('[data-test="badge-capacity"]').exists()).toBe(false)

    expect(badge(1).find('[data-test="badge-caption"]').exists()).toBe(false)
    expect(badge(2).get('[data-test="badge-zone"]').text()).toBe('America/New_York')
    expect(badge(2).get('[data-test="badge-spread"]').text()).toBe('spread 30 min')
    // Its own zone is the display zone: nothing to say.
    expect(badge(3).find('[data-test="badge-caption"]').exists()).toBe(false)

    await badge(1).trigger('pointerenter')
    await vi.waitFor(() => {
      expect(document.body.querySelector('[data-test="badge-tooltip-capacity"]')).not.toBeNull()
    })
    expect(document.body.querySelector('[data-test="badge-tooltip-capacity"]')!.textContent!.replace(/\s+/g, ' ')).toContain(
      'the next run starts 10 minutes later. (needs ~25 min, has 10 min)',
    )
    wrapper.unmount()
  })

  it('shows a deferred run where it fires, with the time it was planned at', async () => {
    // "Core freeze" (defer, 09:00–17:00 on 4 Nov) holds a 09:30 run: the server lists it at 17:00.
    handler({ deferred: { ...nightly, schedule_id: 4, schedule_name: 'Morning', time: '17:00', deferred_from: '09:30', spread_minutes: 15 } })
    const { wrapper } = await mountPage(ScheduleCalendarPage, { now: NOW })
    await settle()
    const badge = wrapper.get('[data-test="calendar-day"][data-date="2026-11-04"] [data-test="calendar-badge"]')
    expect(badge.attributes('aria-label')).toBe('17:00 Morning, 2 devices, deferred from 09:30')
    expect(badge.attributes('data-deferred-from')).toBe('09:30')
    expect(badge.get('[data-test="badge-line"]').text().replace(/\s+/g, '')).toBe('17:00Morning2')
    expect(badge.get('[data-test="badge-caption"]').text().replace(/\s+/g, ' ')).toBe('deferred from 09:30 · spread 15 min')
    // Not on the others.
    const other = wrapper.get('[data-test="calendar-day"][data-date="2026-11-03"] [data-test="calendar-badge"][data-schedule-id="1"]')
    expect(other.attributes('data-deferred-from')).toBeUndefined()

    await badge.trigger('pointerenter')
    await vi.waitFor(() => {
      expect(document.body.querySelector('[data-test="badge-tooltip-deferred"]')).not.toBeNull()
    })
    expect(document.body.querySelector('[data-test="badge-tooltip-deferred"]')!.textContent!.trim()).toBe(
      'Planned at 09:30, deferred to the end of a maintenance window.',
    )
    wrapper.unmount()
  })
})
