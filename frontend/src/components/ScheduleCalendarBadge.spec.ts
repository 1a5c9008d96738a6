import { afterEach, describe, expect, it, vi } from 'vitest'

import type { CalendarDays, CalendarEntry } from '../api/calendar'
import type { BackupResult } from '../api/results'
import ScheduleCalendarPage from '../pages/ScheduleCalendarPage.vue'
import { mountPage, settle, stubFetch, VIEWER_SESSION } from '../test/helpers'
import { addDays } from '../utils/time'

// 2026-11-10 12:00 in Sydney.
const NOW = () => new Date('2026-11-10T01:00:00Z')

const base: CalendarEntry = {
  schedule_id: 1,
  schedule_name: 'Nightly',
  time: '02:00',
  device_count: 2,
  devices: [
    { id: 11, name: 'r1', ip_address: '127.0.0.11' },
    { id: 12, name: 'r2', ip_address: '127.0.0.12' },
  ],
  devices_truncated: false,
  spread_minutes: 0,
  timezone: null,
}

const result: BackupResult = {
  id: 501,
  device: { id: 11, name: 'r1' },
  schedule: { id: 1, name: 'Nightly' },
  scheduled_for: '2026-11-02T15:00:00Z',
  status: 'failed',
  is_catchup: false,
  manual: false,
  queued_at: '2026-11-02T15:00:00Z',
  started_at: '2026-11-02T15:00:01Z',
  finished_at: '2026-11-02T15:00:04Z',
  error: 'connection refused',
  attempts: 1,
  skip_reason: '',
}

function handler() {
  return stubFetch(({ url, method }) => {
    if (url.pathname === '/api/scheduled-backups/calendar/') {
      const window: Record<string, CalendarEntry[]> = {}
      const start = url.searchParams.get('start')!
      for (let i = 0; i < Number(url.searchParams.get('days')); i++) window[addDays(start, i)] = []
      window['2026-11-01'] = [{ ...base, results: { success: 2 } }]
      window['2026-11-03'] = [{ ...base, results: { success: 1, failed: 1 } }]
      window['2026-11-04'] = [{ ...base, results: { missed_window: 2 } }]
      window['2026-11-05'] = [{ ...base, results: {} }]
      window['2026-11-20'] = [base] // the future: no results key
      return { body: window as CalendarDays }
    }
    if (url.pathname === '/api/scheduled-backups/history/') {
      return { body: { count: 1, next: null, previous: null, results: [result] } }
    }
    if (url.pathname === '/api/scheduled-backups/1/test/' && method === 'POST') {
      return { status: 202, body: { enqueued: 2 } }
    }
    return { status: 404, body: { detail: 'Not found.' } }
  })
}

function badgeOn(wrapper: { get: (s: string) => { get: (s: string) => unknown } }, date: string) {
  return wrapper.get(`[data-test="calendar-day"][data-date="${date}"]`).get('[data-test="calendar-badge"]') as {
    classes: () => string[]
    attributes: (n: string) => string | undefined
    trigger: (e: string) => Promise<void>
  }
}

function inBody(selector: string): HTMLElement | null {
  return document.body.querySelector<HTMLElement>(selector)
}

afterEach(() => {
  vi.unstubAllGlobals()
})

describe('ScheduleCalendarBadge: the past', () => {
  it('colours past occurrences by outcome and keeps the schedule colour for the future', async () => {
    handler()
    const { wrapper } = await mountPage(ScheduleCalendarPage, { now: NOW })
    await settle()
    const outcome = (date: string) => badgeOn(wrapper, date).attributes('data-outcome')
    expect(outcome('2026-11-01')).toBe('succeeded')
    expect(outcome('2026-11-03')).toBe('some_failed')
    expect(outcome('2026-11-04')).toBe('missed')
    expect(outcome('2026-11-05')).toBe('nothing_ran')
    expect(outcome('2026-11-20')).toBeUndefined()
    expect(badgeOn(wrapper, '2026-11-01').classes()).toContain('bg-green-8')
    expect(badgeOn(wrapper, '2026-11-03').classes()).toContain('bg-red-8')
    expect(badgeOn(wrapper, '2026-11-04').classes()).toContain('bg-orange-9')
    expect(badgeOn(wrapper, '2026-11-05').classes()).toContain('bg-grey-6')
    // The aria-label keeps its shape (time, name, device count).
    expect(badgeOn(wrapper, '2026-11-03').attributes('aria-label')).toBe('02:00 Nightly, 2 devices')
    wrapper.unmount()
  })

  it('opens the results of an occurrence: history of that schedule at that instant, with device links', async () => {
    const requests = handler()
    const { wrapper } = await mountPage(ScheduleCalendarPage, { now: NOW })
    await settle()
    await badgeOn(wrapper, '2026-11-03').trigger('click')
    await settle()
    inBody('[data-test="badge-results"]')!.click()
    await settle()
    const history = requests.find((r) => r.url.pathname === '/api/scheduled-backups/history/')!
    expect(history.url.searchParams.get('schedule')).toBe('1')
    // 02:00 on 3 Nov in Sydney (AEDT) is 15:00Z on the 2nd; the whole minute.
    expect(history.url.searchParams.get('start')).toBe('2026-11-02T15:00:00.000Z')
    expect(history.url.searchParams.get('end')).toBe('2026-11-02T15:00:59.999Z')
    expect(inBody('[data-test="occurrence-title"]')!.textContent).toContain('Nightly · Tue 3 Nov 2026 at 02:00')
    const link = inBody('[data-test="result-device"]') as HTMLAnchorElement
    expect(link.textContent!.trim()).toBe('r1')
    expect(link.getAttribute('href')).toBe('/devices/11')
    expect(inBody('[data-test="result-error"]')!.textContent).toBe('connection refused')
    wrapper.unmount()
  })

  it('runs a schedule now after a confirmation and says how many backups were enqueued', async () => {
    const requests = handler()
    const { wrapper } = await mountPage(ScheduleCalendarPage, { now: NOW })
    await settle()
    await badgeOn(wrapper, '2026-11-20').trigger('click')
    await settle()
    expect(inBody('[data-test="badge-results"]')).toBeNull() // nothing ran yet in the future
    inBody('[data-test="badge-run-now"]')!.click()
    await settle()
    expect(requests.some((r) => r.method === 'POST')).toBe(false) // not before the confirmation
    inBody('[data-test="run-now-confirm"]')!.click()
    await settle()
    const post = requests.find((r) => r.method === 'POST')!
    expect(post.url.pathname).toBe('/api/scheduled-backups/1/test/')
    expect(document.body.textContent).toContain('Nightly: 2 backups enqueued.')
    wrapper.unmount()
  })

  it('opens the badge menu from the keyboard (Enter on the focused badge)', async () => {
    handler()
    const { wrapper } = await mountPage(ScheduleCalendarPage, { now: NOW })
    await settle()
    const badge = badgeOn(wrapper, '2026-11-03') as unknown as { attributes: (n: string) => string; trigger: (e: string, o?: object) => Promise<void> }
    expect(badge.attributes('tabindex')).toBe('0')
    await badge.trigger('keyup', { keyCode: 13, key: 'Enter' })
    await settle()
    expect(inBody('[data-test="badge-results"]')).not.toBeNull()
    wrapper.unmount()
  })

  it('offers no "Run now" to a user without change rights', async () => {
    handler()
    const { wrapper } = await mountPage(ScheduleCalendarPage, { now: NOW }, VIEWER_SESSION)
    await settle()
    await badgeOn(wrapper, '2026-11-03').trigger('click')
    await settle()
    expect(inBody('[data-test="badge-results"]')).not.toBeNull()
    expect(inBody('[data-test="badge-run-now"]')).toBeNull()
    wrapper.unmount()
  })
})
