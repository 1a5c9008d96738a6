import { afterEach, describe, expect, it, vi } from 'vitest'

import type { CalendarDays, CalendarEntry } from '../api/calendar'
import { mountPage, type RecordedRequest, settle, stubFetch } from '../test/helpers'
import { addDays } from '../utils/time'
import ScheduleCalendarPage from './ScheduleCalendarPage.vue'

// 2026-11-10 12:00 in Sydney; the browser's own zone must not matter.
const NOW = () => new Date('2026-11-10T01:00:00Z')

function emptyWindow(start: string, days: number): CalendarDays {
  const result: CalendarDays = {}
  for (let i = 0; i < days; i++) result[addDays(start, i)] = []
  return result
}

const nightly: CalendarEntry = {
  schedule_id: 1,
  schedule_name: 'Nightly',
  time: '02:00',
  device_count: 13,
  devices: Array.from({ length: 13 }, (_, i) => ({ id: i + 1, name: `sw-${i + 1}`, ip_address: `10.0.0.${i + 1}` })),
  devices_truncated: false,
  spread_minutes: 0,
  timezone: null,
}
const weekly: CalendarEntry = {
  schedule_id: 2,
  schedule_name: 'Weekly core',
  time: '03:30',
  device_count: 1,
  devices: [{ id: 99, name: 'core-1', ip_address: '10.9.9.9' }],
  devices_truncated: false,
  spread_minutes: 0,
  timezone: null,
}

/** Answers the calendar (filled by `fill`); returns the requests of the backups' calendar only. */
function calendarHandler(fill: (window: CalendarDays) => void = () => {}): RecordedRequest[] {
  const calendarRequests: RecordedRequest[] = []
  stubFetch((request) => {
    const { url } = request
    if (url.pathname !== '/api/scheduled-backups/calendar/') return { status: 404, body: { detail: 'Not found.' } }
    calendarRequests.push(request)
    const window = emptyWindow(url.searchParams.get('start')!, Number(url.searchParams.get('days')))
    fill(window)
    return { body: window }
  })
  return calendarRequests
}

afterEach(() => {
  vi.useRealTimers()
  vi.unstubAllGlobals()
})

describe('ScheduleCalendarPage', () => {
  it('fetches the whole visible grid and renders badges with counts', async () => {
    const requests = calendarHandler((w) => {
      w['2026-11-03'] = [nightly, weekly]
      w['2026-11-04'] = [nightly]
      w['2026-10-31'] = [weekly] // leading day of the previous month
    })
    const { wrapper } = await mountPage(ScheduleCalendarPage, { now: NOW })
    await settle()

    expect(requests).toHaveLength(1)
    expect(requests[0]!.url.searchParams.get('start')).toBe('2026-10-26')
    expect(requests[0]!.url.searchParams.get('days')).toBe('42')
    expect(requests[0]!.headers.Accept).toBe('application/json')

    expect(wrapper.get('[data-test="calendar-title"]').text()).toBe('November 2026')
    const days = wrapper.findAll('[data-test="calendar-day"]')
    expect(days).toHaveLength(42)
    expect(days[0]!.attributes('data-date')).toBe('2026-10-26')
    expect(days[0]!.attributes('data-in-month')).toBe('false')
    expect(days[0]!.classes()).toContain('schedule-calendar-day--outside')

    const today = wrapper.findAll('[data-today="true"]')
    expect(today.map((d) => d.attributes('data-date'))).toEqual(['2026-11-10'])

    const nov3 = wrapper.get('[data-test="calendar-day"][data-date="2026-11-03"]')
    const badges = nov3.findAll('[data-test="calendar-badge"]')
    expect(badges.map((b) => b.attributes('data-schedule-id'))).toEqual(['1', '2'])
    expect(badges.map((b) => b.get('[data-test="badge-count"]').text())).toEqual(['13', '1'])
    expect(badges[0]!.text()).toContain('Nightly')
    expect(badges[0]!.text()).toContain('02:00')
    // stable colour per schedule
    const colour = (id: string) =>
      wrapper
        .findAll(`[data-test="calendar-badge"][data-schedule-id="${id}"]`)
        .map((b) => b.classes().find((c) => c.startsWith('bg-')))
    expect(new Set(colour('1')).size).toBe(1)
    expect(colour('1')[0]).not.toBe(colour('2')[0])

    expect(wrapper.find('[data-test="calendar-day"][data-date="2026-10-31"] [data-test="calendar-badge"]').exists()).toBe(true)
    expect(wrapper.find('[data-test="calendar-empty"]').exists()).toBe(false)
    wrapper.unmount()
  })

  it('lists at most 10 devices in the tooltip, then "+N more"', async () => {
    calendarHandler((w) => {
      w['2026-11-03'] = [nightly]
    })
    const { wrapper } = await mountPage(ScheduleCalendarPage, { now: NOW })
    await settle()

    await wrapper.get('[data-test="calendar-badge"]').trigger('pointerenter')
    await vi.waitFor(() => {
      expect(document.body.querySelector('[data-test="badge-tooltip"]')).not.toBeNull()
    })
    const tooltip = document.body.querySelector('[data-test="badge-tooltip"]')!
    const names = [...tooltip.querySelectorAll('[data-test="badge-tooltip-device"]')].map((li) => li.textContent)
    expect(names).toEqual(Array.from({ length: 10 }, (_, i) => `sw-${i + 1}`))
    expect(tooltip.textContent).toContain('+3 more')
    expect(tooltip.textContent).not.toContain('sw-11')
    wrapper.unmount()
  })

  it('counts the devices the server left out of a truncated list in "+N more"', async () => {
    const huge: CalendarEntry = {
      ...nightly,
      device_count: 200,
      devices: Array.from({ length: 50 }, (_, i) => ({ id: i + 1, name: `sw-${i + 1}`, ip_address: `10.0.0.${i + 1}` })),
      devices_truncated: true,
    }
    calendarHandler((w) => {
      w['2026-11-03'] = [huge]
    })
    const { wrapper } = await mountPage(ScheduleCalendarPage, { now: NOW })
    await settle()

    expect(wrapper.get('[data-test="badge-count"]').text()).toBe('200')
    await wrapper.get('[data-test="calendar-badge"]').trigger('pointerenter')
    await vi.waitFor(() => {
      expect(document.body.querySelector('[data-test="badge-tooltip"]')).not.toBeNull()
    })
    const tooltip = document.body.querySelector('[data-test="badge-tooltip"]')!
    expect(tooltip.querySelectorAll('[data-test="badge-tooltip-device"]')).toHaveLength(10)
    expect(tooltip.textContent).toContain('+190 more')
    wrapper.unmount()
  })

  it('navigates months, refetching the new grid, and shows the empty state', async () => {
    const requests = calendarHandler((w) => {
      if ('2026-11-03' in w) w['2026-11-03'] = [weekly]
    })
    const { wrapper } = await mountPage(ScheduleCalendarPage, { now: NOW })
    await settle()

    await wrapper.get('[data-test="calendar-next"]').trigger('click')
    await settle()
    expect(wrapper.get('[data-test="calendar-title"]').text()).toBe('December 2026')
    expect(requests.at(-1)!.url.searchParams.get('start')).toBe('2026-11-30')
    expect(requests.at(-1)!.url.searchParams.get('days')).toBe('35')
    // Nov 3 is not in the December grid; nothing scheduled in December itself
    expect(wrapper.get('[data-test="calendar-empty"]').text()).toContain('No backups scheduled in this month')

    await wrapper.get('[data-test="calendar-prev"]').trigger('click')
    await wrapper.get('[data-test="calendar-prev"]').trigger('click')
    await settle()
    expect(wrapper.get('[data-test="calendar-title"]').text()).toBe('October 2026')

    await wrapper.get('[data-test="calendar-today"]').trigger('click')
    await settle()
    expect(wrapper.get('[data-test="calendar-title"]').text()).toBe('November 2026')
    expect(wrapper.find('[data-test="calendar-empty"]').exists()).toBe(false)
    expect(wrapper.findAll('[data-test="calendar-badge"]')).toHaveLength(1)
    wrapper.unmount()
  })

  it('shows an error with a working retry', async () => {
    let fail = true
    stubFetch(({ url }) => {
      if (fail) return { status: 500, body: { detail: 'Server exploded' } }
      return { body: emptyWindow(url.searchParams.get('start')!, Number(url.searchParams.get('days'))) }
    })
    const { wrapper } = await mountPage(ScheduleCalendarPage, { now: NOW })
    await settle()
    expect(wrapper.get('[data-test="calendar-error"]').text()).toContain('Server exploded')

    fail = false
    await wrapper.get('[data-test="calendar-retry"]').trigger('click')
    await settle()
    expect(wrapper.find('[data-test="calendar-error"]').exists()).toBe(false)
    expect(wrapper.find('[data-test="calendar-empty"]').exists()).toBe(true)
    wrapper.unmount()
  })

  it('refreshes every 5 minutes and stops when unmounted', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] })
    const requests = calendarHandler()
    const { wrapper } = await mountPage(ScheduleCalendarPage, { now: NOW })
    await settle()
    expect(requests).toHaveLength(1)

    vi.advanceTimersByTime(5 * 60 * 1000 - 1)
    expect(requests).toHaveLength(1)
    vi.advanceTimersByTime(1)
    await settle()
    expect(requests).toHaveLength(2)
    expect(requests[1]!.url.searchParams.get('start')).toBe('2026-10-26')

    wrapper.unmount()
    vi.advanceTimersByTime(15 * 60 * 1000)
    expect(requests).toHaveLength(2)
  })
})
