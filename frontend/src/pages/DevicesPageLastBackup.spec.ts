import { QSelect } from 'quasar'
import { afterEach, describe, expect, it, vi } from 'vitest'

import type { Device } from '../api/devices'
import { mountPage, settle, stubFetch } from '../test/helpers'
import DevicesPage from './DevicesPage.vue'

const base: Omit<Device, 'id' | 'name' | 'last_backup' | 'stale'> = {
  ip_address: '127.0.0.1', enabled: true, device_group: null, collection_group: null, backup_schedule: null,
  next_backup: null, ssh_host_key_fingerprint: null,
}

const devices: Device[] = [
  {
    ...base, id: 1, name: 'ok-1', stale: false,
    last_backup: { status: 'success', scheduled_for: '2026-11-09T15:00:00Z', finished_at: new Date(Date.now() - 3 * 3600_000).toISOString(), error: '' },
  },
  {
    ...base, id: 2, name: 'bad-2', stale: true,
    last_backup: { status: 'failed', scheduled_for: '2026-11-09T15:00:00Z', finished_at: new Date(Date.now() - 600_000).toISOString(), error: 'auth failed' },
  },
  { ...base, id: 3, name: 'new-3', stale: false, last_backup: null },
]

function handler() {
  return stubFetch(({ url }) => {
    if (url.pathname === '/api/devices/') return { body: { count: devices.length, next: null, previous: null, results: devices } }
    return { body: { count: 0, next: null, previous: null, results: [] } }
  })
}

const deviceLists = (requests: ReturnType<typeof handler>) => requests.filter((r) => r.url.pathname === '/api/devices/')

afterEach(() => {
  vi.unstubAllGlobals()
})

describe('DevicesPage: last backup', () => {
  it('shows the last backup as a status chip with the time, its error on hover, and a stale badge', async () => {
    handler()
    const { wrapper } = await mountPage(DevicesPage)
    await settle()
    const cells = wrapper.findAll('[data-test="last-backup"]')
    expect(cells.map((c) => c.attributes('data-status'))).toEqual(['success', 'failed', 'never'])
    expect(cells[0]!.text()).toContain('Success')
    expect(cells[0]!.text()).toContain('3 hours ago')
    expect(cells[1]!.text()).toContain('10 minutes ago')
    expect(cells[1]!.get('[data-test="status-chip"]').attributes('aria-label')).toBe('Failed: auth failed')
    expect(cells[2]!.text()).toBe('Never')
    const stale = wrapper.findAll('[data-test="device-stale"]')
    expect(stale).toHaveLength(1)
    expect(wrapper.findAll('tbody tr')[1]!.text()).toContain('stale')
    expect(wrapper.get('[data-test="devices-timezone"]').text()).toBe('Times in Australia/Sydney')
    wrapper.unmount()
  })

  it('filters by backup status and sorts by last backup through the API', async () => {
    const requests = handler()
    const { wrapper } = await mountPage(DevicesPage)
    await settle()
    const filter = wrapper.findAllComponents(QSelect).find((s) => s.attributes('data-test') === 'devices-backup-status' || s.find('[data-test="devices-backup-status"]').exists())!
    filter.vm.$emit('update:modelValue', 'failed')
    await settle()
    expect(deviceLists(requests).at(-1)!.url.searchParams.get('backup_status')).toBe('failed')
    const header = wrapper.findAll('th').find((th) => th.text().includes('Last backup'))!
    await header.trigger('click')
    await settle()
    expect(deviceLists(requests).at(-1)!.url.searchParams.get('ordering')).toBe('last_backup')
    wrapper.unmount()
  })

  it('reloads itself so relative times and "Due now" move on', async () => {
    const requests = handler()
    const { wrapper } = await mountPage(DevicesPage, { refreshMs: 30 })
    await settle()
    const before = deviceLists(requests).length
    await vi.waitFor(() => expect(deviceLists(requests).length).toBeGreaterThan(before + 1), { timeout: 2000 })
    wrapper.unmount()
    const after = deviceLists(requests).length
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(deviceLists(requests).length).toBe(after) // stopped with the page
  })
})
