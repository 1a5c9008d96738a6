import { flushPromises } from '@vue/test-utils'
import { QSelect } from 'quasar'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'

import type { Device, DeviceSchedule } from '../api/devices'
import DevicesAssignScheduleDialog from '../components/DevicesAssignScheduleDialog.vue'
import { mountPage, settle, stubFetch, VIEWER_SESSION } from '../test/helpers'
import DevicesPage from './DevicesPage.vue'

const schedule: DeviceSchedule = {
  id: 5,
  name: 'Nightly',
  schedule_type: 'daily',
  hour: 2,
  minute: 0,
  day_of_week: null,
  day_of_month: null,
  cron_expression: '',
  enabled: true,
  next_run_at: '2026-11-10T04:00:00Z', // 15:00 AEDT, 3 hours after "now"
  last_run_at: null,
}

// What the list says of each device's past: nothing yet.
const noHistory = { last_backup: null, stale: false, ssh_host_key_fingerprint: null }

const devices: Device[] = [
  {
    id: 1,
    name: 'core-sw-1',
    ip_address: '10.0.0.1',
    enabled: true,
    device_group: { id: 1, name: 'Core' },
    collection_group: { id: 2, name: 'Sydney DC' },
    backup_schedule: schedule,
    next_backup: schedule.next_run_at, // the API's: enabled device on an enabled schedule
    ...noHistory,
  },
  {
    id: 2,
    name: 'edge-rtr-1',
    ip_address: '10.0.0.2',
    enabled: true,
    device_group: null,
    collection_group: null,
    backup_schedule: null,
    next_backup: null,
    ...noHistory,
  },
  {
    id: 3,
    name: 'lab-sw-9',
    ip_address: '10.0.0.9',
    enabled: true,
    device_group: null,
    collection_group: null,
    backup_schedule: { ...schedule, id: 6, name: 'Paused', enabled: false },
    next_backup: null,
    ...noHistory,
  },
  {
    // A disabled device on an enabled schedule is not collected: "Not scheduled".
    id: 4,
    name: 'old-fw-2',
    ip_address: '10.0.0.4',
    enabled: false,
    device_group: null,
    collection_group: null,
    backup_schedule: schedule,
    next_backup: null,
    ...noHistory,
  },
]

function handler() {
  return stubFetch(({ url, method }) => {
    if (url.pathname === '/api/devices/' && method === 'GET') {
      return { body: { count: devices.length, next: null, previous: null, results: devices } }
    }
    if (url.pathname === '/api/backup-schedules/') {
      return {
        body: {
          count: 1,
          next: null,
          previous: null,
          results: [{ ...schedule, device_count: 1, description: 'Daily at 02:00', next_runs: [] }],
        },
      }
    }
    if (url.pathname === '/api/scheduled-backups/bulk-assign/') return { body: { updated: 2 } }
    return { status: 404, body: { detail: 'Not found.' } }
  })
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] })
  vi.setSystemTime(new Date('2026-11-10T12:00:00+11:00'))
})

afterEach(() => {
  vi.useRealTimers()
  vi.unstubAllGlobals()
})

describe('DevicesPage', () => {
  it('loads the first page sorted by name and words the next backup', async () => {
    const requests = handler()
    const { wrapper } = await mountPage(DevicesPage)
    await settle()

    const first = requests[0]!.url
    expect(first.pathname).toBe('/api/devices/')
    expect(Object.fromEntries(first.searchParams)).toEqual({ page: '1', page_size: '25', ordering: 'name' })

    const cells = wrapper.findAll('[data-test="next-backup"]')
    expect(cells.map((c) => c.text())).toEqual(['In 3 hours', 'Not scheduled', 'Not scheduled', 'Not scheduled'])
    expect(wrapper.findAll('tbody tr')[3]!.text()).toContain('disabled') // the device's badge stays
    expect(wrapper.get('[data-test="devices-table"]').text()).toContain('Sydney DC')
    const links = wrapper.findAll('[data-test="device-link"]')
    expect(links[0]!.attributes('href')).toBe('/devices/1')
    expect(wrapper.findAll('[data-test="device-edit"]')[0]!.attributes('href')).toBe('/devices/1/edit')
    wrapper.unmount()
  })

  it('sorts on the server by next backup', async () => {
    const requests = handler()
    const { wrapper } = await mountPage(DevicesPage)
    await settle()
    const header = wrapper.findAll('th').find((th) => th.text().includes('Next Scheduled Backup'))!
    await header.trigger('click')
    await settle()
    expect(requests.at(-1)!.url.searchParams.get('ordering')).toBe('next_run_at')
    await header.trigger('click')
    await settle()
    expect(requests.at(-1)!.url.searchParams.get('ordering')).toBe('-next_run_at')
    wrapper.unmount()
  })

  it('searches (debounced) from page 1', async () => {
    const requests = handler()
    const { wrapper } = await mountPage(DevicesPage)
    await settle()
    const input = wrapper.get('input[data-test="devices-search"]')
    await input.setValue('core')
    await vi.waitFor(() => expect(requests.at(-1)!.url.searchParams.get('search')).toBe('core'), { timeout: 2000 })
    expect(requests.at(-1)!.url.searchParams.get('page')).toBe('1')
    wrapper.unmount()
  })

  it('bulk-assigns a schedule to the selected devices', async () => {
    const requests = handler()
    const { wrapper } = await mountPage(DevicesPage)
    await settle()

    const assign = wrapper.get('[data-test="assign-schedule"]')
    expect(assign.attributes('disabled')).toBeDefined()
    const checkboxes = wrapper.findAll('tbody .q-checkbox')
    await checkboxes[0]!.trigger('click')
    await checkboxes[1]!.trigger('click')
    expect(wrapper.get('[data-test="selected-count"]').text()).toBe('2 selected')
    expect(assign.attributes('disabled')).toBeUndefined()

    await assign.trigger('click')
    await settle()
    const dialog = wrapper.findComponent(DevicesAssignScheduleDialog)
    const select = dialog.findComponent(QSelect)
    expect(select.props('options')).toEqual([
      expect.objectContaining({ label: 'No schedule', value: 'none' }),
      expect.objectContaining({ label: 'Nightly', value: 5, description: 'Daily at 02:00' }),
    ])
    select.vm.$emit('update:modelValue', 5)
    await flushPromises()
    document.querySelector<HTMLElement>('[data-test="bulk-assign-confirm"]')!.click()
    await settle()

    const post = requests.find((r) => r.method === 'POST')!
    expect(post.url.pathname).toBe('/api/scheduled-backups/bulk-assign/')
    expect(post.body).toEqual({ schedule_id: 5, device_ids: [1, 2] })
    expect(document.body.textContent).toContain('Schedule assigned to 2 devices.')
    // the table reloads afterwards
    expect(requests.at(-1)!.url.pathname).toBe('/api/devices/')
    wrapper.unmount()
  })

  it('keeps "Assign schedule…" disabled for users who may not change devices', async () => {
    handler()
    const { wrapper } = await mountPage(DevicesPage, {}, VIEWER_SESSION)
    await settle()
    await wrapper.findAll('tbody .q-checkbox')[0]!.trigger('click')
    expect(wrapper.get('[data-test="assign-schedule"]').attributes('disabled')).toBeDefined()
    wrapper.unmount()
  })
})
