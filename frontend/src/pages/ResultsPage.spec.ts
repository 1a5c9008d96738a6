import { afterEach, describe, expect, it, vi } from 'vitest'

import type { BackupResult } from '../api/results'
import { mountPage, settle, stubFetch } from '../test/helpers'
import ResultsPage from './ResultsPage.vue'

function result(id: number, fields: Partial<BackupResult> = {}): BackupResult {
  return {
    id, device: { id: 7, name: 'core-rtr-1' }, schedule: { id: 3, name: 'Nightly' },
    scheduled_for: '2026-11-09T15:00:00Z', status: 'success', is_catchup: false, manual: false,
    queued_at: '2026-11-09T15:00:00Z', started_at: '2026-11-09T15:00:01Z', finished_at: '2026-11-09T15:00:03Z', error: '',
    attempts: 1, skip_reason: '',
    ...fields,
  }
}

const rows = [
  result(3, { manual: true, schedule: null as never }),
  result(2, { is_catchup: true, status: 'failed', error: 'timeout' }),
  result(1, { schedule: { id: null, name: 'Old weekly' } as never }),
]

function handler() {
  return stubFetch(({ url }) => {
    if (url.pathname === '/api/scheduled-backups/history/') return { body: { count: 3, next: null, previous: null, results: rows } }
    if (url.pathname === '/api/backup-schedules/') return { body: { count: 0, next: null, previous: null, results: [] } }
    if (url.pathname === '/api/devices/') return { body: { count: 0, next: null, previous: null, results: [] } }
    return { status: 404, body: { detail: 'Not found.' } }
  })
}

const history = (requests: ReturnType<typeof handler>) =>
  requests.filter((r) => r.url.pathname === '/api/scheduled-backups/history/')

afterEach(() => {
  vi.unstubAllGlobals()
})

describe('ResultsPage', () => {
  it('reads its filters from the URL and sends them to the history API', async () => {
    const requests = handler()
    const { router } = await mountPage(ResultsPage)
    await router.replace({ path: '/results', query: { status: 'failed', schedule: '3', device: '7', start: '2026-11-01', end: '2026-11-09' } })
    await settle()
    const last = history(requests).at(-1)!
    expect(Object.fromEntries(last.url.searchParams)).toEqual({
      status: 'failed', schedule: '3', device: '7', start: '2026-11-01', end: '2026-11-09', page: '1', page_size: '25',
    })
  })

  it('writes a changed filter into the URL, back on page 1', async () => {
    handler()
    const { wrapper, router } = await mountPage(ResultsPage)
    await router.replace({ path: '/results', query: { status: 'failed', page: '3' } })
    await settle()
    await wrapper.get('input[data-test="filter-start"]').setValue('2026-11-02')
    await settle()
    expect(router.currentRoute.value.query).toEqual({ status: 'failed', start: '2026-11-02' })
    await wrapper.get('[data-test="filter-clear"]').trigger('click')
    await settle()
    expect(router.currentRoute.value.query).toEqual({})
    wrapper.unmount()
  })

  it('filters catch-up and manual results in the browser, and says so', async () => {
    const requests = handler()
    const { wrapper, router } = await mountPage(ResultsPage)
    await router.replace({ path: '/results', query: { kind: 'catchup' } })
    await settle()
    expect(history(requests).at(-1)!.url.searchParams.get('page_size')).toBe('500')
    expect(wrapper.findAll('[data-test="result-row"]').map((r) => r.attributes('data-result-id'))).toEqual(['2'])
    expect(wrapper.find('[data-test="kind-note"]').exists()).toBe(true)
    await router.replace({ path: '/results', query: { kind: 'manual' } })
    await settle()
    const manual = wrapper.findAll('[data-test="result-row"]')
    expect(manual.map((r) => r.attributes('data-result-id'))).toEqual(['3'])
    expect(manual[0]!.get('[data-test="result-schedule"]').text()).toBe('Manual')
    wrapper.unmount()
  })

  it('names a deleted schedule and states the time zone', async () => {
    handler()
    const { wrapper, router } = await mountPage(ResultsPage)
    await router.replace({ path: '/results' })
    await settle()
    const names = wrapper.findAll('[data-test="result-schedule"]').map((s) => s.text())
    expect(names).toEqual(['Manual', 'Nightly', 'Old weekly (deleted)'])
    expect(wrapper.get('[data-test="results-timezone"]').text()).toBe('Times and dates in Australia/Sydney')
    wrapper.unmount()
  })

  it("shows the server's message when the history cannot be loaded", async () => {
    stubFetch(({ url }) =>
      url.pathname === '/api/scheduled-backups/history/'
        ? { status: 400, body: { start: ['Enter a date (YYYY-MM-DD) or an ISO 8601 instant.'] } }
        : { body: { count: 0, next: null, previous: null, results: [] } },
    )
    const { wrapper, router } = await mountPage(ResultsPage)
    await router.replace({ path: '/results' })
    await settle()
    expect(document.body.textContent).toContain('Could not load the results: start: Enter a date (YYYY-MM-DD) or an ISO 8601 instant.')
    wrapper.unmount()
  })
})
