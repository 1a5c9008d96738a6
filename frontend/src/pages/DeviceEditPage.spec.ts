import { flushPromises } from '@vue/test-utils'
import { QSelect } from 'quasar'
import { afterEach, describe, expect, it, vi } from 'vitest'

import { mountPage, settle, stubFetch } from '../test/helpers'
import DeviceEditPage from './DeviceEditPage.vue'

const nested = {
  id: 5,
  name: 'Nightly',
  schedule_type: 'daily',
  hour: 2,
  minute: 0,
  day_of_week: null,
  day_of_month: null,
  cron_expression: '',
  enabled: true,
  next_run_at: '2026-11-10T15:00:00Z',
  last_run_at: null,
}

const device = {
  id: 7,
  name: 'core-sw-1',
  ip_address: '10.0.0.1',
  enabled: true,
  device_group: { id: 1, name: 'Core' },
  collection_group: null,
  backup_schedule: nested,
}

const schedules = [
  {
    ...nested,
    device_count: 4,
    description: 'Daily at 02:00',
    next_runs: ['2026-11-10T15:00:00Z', '2026-11-11T15:00:00Z'],
  },
  { ...nested, id: 6, name: 'Weekly', enabled: false, device_count: 0, description: 'Weekly on Sunday at 03:00', next_runs: [] },
]

function handler(patch: () => { status?: number; body?: unknown }) {
  return stubFetch(({ url, method }) => {
    if (url.pathname === '/api/devices/7/' && method === 'GET') return { body: device }
    if (url.pathname === '/api/devices/7/' && method === 'PATCH') return patch()
    if (url.pathname === '/api/backup-schedules/') {
      // One schedule per page: the app follows `next` rather than asking for a page size.
      const page = Number(url.searchParams.get('page'))
      const link = (n: number) => (n >= 1 && n <= 2 ? `http://testserver/api/backup-schedules/?page=${n}` : null)
      return { body: { count: 2, next: link(page + 1), previous: link(page - 1), results: [schedules[page - 1]] } }
    }
    return { status: 404, body: { detail: 'Not found.' } }
  })
}

afterEach(() => {
  vi.unstubAllGlobals()
  document.cookie = 'csrftoken=; expires=Thu, 01 Jan 1970 00:00:00 GMT'
})

describe('DeviceEditPage', () => {
  it('shows the device, its schedule and the next runs in the display time zone', async () => {
    const requests = handler(() => ({ body: device }))
    const { wrapper } = await mountPage(DeviceEditPage, { id: 7 })
    await settle()

    const pages = requests.filter((r) => r.url.pathname === '/api/backup-schedules/')
    expect(pages.map((r) => Object.fromEntries(r.url.searchParams))).toEqual([{ page: '1' }, { page: '2' }])
    expect((wrapper.get('input[data-test="device-name"]').element as HTMLInputElement).value).toBe('core-sw-1')
    const select = wrapper.findComponent(QSelect)
    expect(select.props('modelValue')).toBe(5)
    expect(select.props('clearable')).toBe(true)
    expect(wrapper.findAll('[data-test="next-run"]').map((li) => li.text())).toEqual([
      'Wed 11 Nov 2026 at 02:00',
      'Thu 12 Nov 2026 at 02:00',
    ])

    select.vm.$emit('update:modelValue', 6)
    await flushPromises()
    expect(wrapper.get('[data-test="next-runs-empty"]').text()).toContain('disabled')

    select.vm.$emit('update:modelValue', null)
    await flushPromises()
    expect(wrapper.get('[data-test="next-runs-empty"]').text()).toContain('No schedule selected')
    wrapper.unmount()
  })

  it('says a disabled device is not backed up, whatever its schedule', async () => {
    handler(() => ({ body: device }))
    const { wrapper } = await mountPage(DeviceEditPage, { id: 7 })
    await settle()
    expect(wrapper.find('[data-test="device-disabled"]').exists()).toBe(false)
    wrapper.unmount()

    stubFetch(({ url }) => {
      if (url.pathname === '/api/devices/7/') return { body: { ...device, enabled: false } }
      if (url.pathname === '/api/backup-schedules/') {
        return { body: { count: 2, next: null, previous: null, results: schedules } }
      }
      return { status: 404, body: { detail: 'Not found.' } }
    })
    const disabled = await mountPage(DeviceEditPage, { id: 7 })
    await settle()
    expect(disabled.wrapper.get('[data-test="device-disabled"]').text()).toContain('not backed up')
    disabled.wrapper.unmount()
  })

  it('clears the schedule with PATCH null and shows API errors on the field', async () => {
    document.cookie = 'csrftoken=abc'
    const requests = handler(() => ({ status: 400, body: { backup_schedule_id: ['Invalid pk "99".'] } }))
    const { wrapper, router } = await mountPage(DeviceEditPage, { id: 7 })
    await settle()

    wrapper.findComponent(QSelect).vm.$emit('update:modelValue', null)
    await flushPromises()
    await wrapper.get('form').trigger('submit')
    await settle()

    const patch = requests.find((r) => r.method === 'PATCH')!
    expect(patch.body).toEqual({ backup_schedule_id: null })
    expect(patch.headers['X-CSRFToken']).toBe('abc')
    expect(wrapper.get('.q-field--error').text()).toContain('Invalid pk "99".')
    expect(router.currentRoute.value.path).toBe('/')
    wrapper.unmount()
  })

  it('saves, notifies and goes back to the device list', async () => {
    const requests = handler(() => ({ body: { ...device, backup_schedule: null } }))
    const { wrapper, router } = await mountPage(DeviceEditPage, { id: 7 })
    await settle()
    wrapper.findComponent(QSelect).vm.$emit('update:modelValue', null)
    await flushPromises()
    await wrapper.get('form').trigger('submit')
    await settle()
    expect(requests.some((r) => r.method === 'PATCH')).toBe(true)
    expect(document.body.textContent).toContain('core-sw-1: schedule cleared.')
    expect(router.currentRoute.value.path).toBe('/devices')
    wrapper.unmount()
  })

  it('says so when the device is not visible', async () => {
    stubFetch(({ url }) =>
      url.pathname === '/api/backup-schedules/'
        ? { body: { count: 0, next: null, previous: null, results: [] } }
        : { status: 404, body: { detail: 'Not found.' } },
    )
    const { wrapper } = await mountPage(DeviceEditPage, { id: 7 })
    await settle()
    expect(wrapper.get('[data-test="device-load-error"]').text()).toContain('Device not found.')
    wrapper.unmount()
  })
})
