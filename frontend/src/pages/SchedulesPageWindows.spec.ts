import { flushPromises, type VueWrapper } from '@vue/test-utils'
import { QForm, QInput, QSelect } from 'quasar'
import { afterEach, describe, expect, it, vi } from 'vitest'

import type { MaintenanceWindow } from '../api/windows'
import SchedulesWindowEditorDialog from '../components/SchedulesWindowEditorDialog.vue'
import { mountPage, settle, stubFetch, VIEWER_SESSION } from '../test/helpers'
import SchedulesPage from './SchedulesPage.vue'

const NOW = () => new Date('2026-10-02T00:00:00Z')

const nightly = {
  id: 5,
  name: 'Nightly',
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
  next_run_at: '2026-10-02T16:00:00Z',
  last_run_at: null,
  device_count: 40,
  description: 'Daily at 02:00',
  next_runs: ['2026-10-02T16:00:00Z'],
  capacity_warning: {
    estimated_seconds: 1500,
    available_seconds: 600,
    limited_by: 'maintenance_window',
    message: 'The 40 devices need about 25 minutes; the window "Patch night" starts 10 minutes after the run.',
  },
}
const hourly = { ...nightly, id: 6, name: 'Hourly', capacity_warning: null }

const patchNight: MaintenanceWindow = {
  id: 1,
  name: 'Patch night',
  enabled: true,
  timezone: null,
  schedule_type: 'daily',
  start: null,
  hour: 23,
  minute: 0,
  day_of_week: null,
  day_of_month: null,
  cron_expression: '',
  duration_minutes: 180,
  policy: 'defer',
  device_groups: [1],
  collection_groups: [],
  // 23:00 on Fri 2 Oct in Sydney (AEST) to 02:00 the next day.
  next_spans: [{ start: '2026-10-02T13:00:00Z', end: '2026-10-02T16:00:00Z' }],
}
const migration: MaintenanceWindow = {
  ...patchNight,
  id: 2,
  name: 'DC migration',
  enabled: false,
  schedule_type: 'once',
  start: '2027-06-05T12:00:00Z',
  hour: 0,
  duration_minutes: 240,
  policy: 'skip',
  device_groups: [],
  collection_groups: [3],
  next_spans: [],
}
const everything: MaintenanceWindow = { ...patchNight, id: 3, name: 'Freeze', device_groups: [], next_spans: [] }

const devices = [
  { id: 11, name: 'r1', device_group: { id: 1, name: 'core' }, collection_group: { id: 2, name: 'ssh' } },
  { id: 12, name: 'r2', device_group: null, collection_group: null },
]

type Answer = { status?: number; body?: unknown }

function handler(write: (method: string, path: string, body: unknown) => Answer = () => ({ status: 500 })) {
  return stubFetch(({ url, method, body }) => {
    const page = (results: unknown[]) => ({ body: { count: results.length, next: null, previous: null, results } })
    if (url.pathname === '/api/backup-schedules/' && method === 'GET') return page([nightly, hourly])
    if (url.pathname === '/api/maintenance-windows/' && method === 'GET') return page([patchNight, migration, everything])
    if (url.pathname === '/api/devices/') return page(devices)
    if (url.pathname.startsWith('/api/maintenance-windows/')) return write(method, url.pathname, body)
    return { status: 404, body: { detail: 'Not found.' } }
  })
}

type FieldWrapper = VueWrapper<InstanceType<typeof QInput>>

function field(dialog: VueWrapper, name: string): FieldWrapper {
  const found = [...dialog.findAllComponents(QInput), ...dialog.findAllComponents(QSelect)].find(
    (c) => c.vm.$attrs['data-test'] === name,
  )
  if (!found) throw new Error(`no field ${name}`)
  return found as unknown as FieldWrapper
}

function texts(selector: string): string[] {
  return [...document.querySelectorAll(selector)].map((el) => el.textContent!.replace(/\s+/g, ' ').trim())
}

function click(selector: string): void {
  const el = document.querySelector<HTMLElement>(selector)
  if (!el) throw new Error(`nothing matches ${selector}`)
  el.click()
}

afterEach(() => {
  vi.unstubAllGlobals()
  document.cookie = 'csrftoken=; expires=Thu, 01 Jan 1970 00:00:00 GMT'
  for (const portal of document.querySelectorAll('[id^="q-portal--dialog"]')) portal.remove()
})

describe('SchedulesPage: capacity warnings', () => {
  it('shows the estimate against the time available, with the message as tooltip', async () => {
    handler()
    const { wrapper } = await mountPage(SchedulesPage, { now: NOW })
    await settle()
    const row = (id: number) => wrapper.get(`[data-test="schedule-row"][data-schedule-id="${id}"]`)
    const chip = row(5).get('[data-test="schedule-capacity"]')
    expect(chip.text()).toContain('needs ~25 min, has 10 min')
    expect(chip.attributes('data-limited-by')).toBe('maintenance_window')
    expect(row(6).find('[data-test="schedule-capacity"]').exists()).toBe(false)

    await chip.trigger('pointerenter')
    await vi.waitFor(() => {
      expect(document.querySelector('.q-tooltip')).not.toBeNull()
    })
    expect(texts('.q-tooltip')[0]).toContain('the window "Patch night" starts 10 minutes after')
    wrapper.unmount()
  })
})

describe('SchedulesPage: maintenance windows', () => {
  it('lists when, policy, scope (group names from the devices), enabled and the next span', async () => {
    handler()
    const { wrapper } = await mountPage(SchedulesPage, { now: NOW })
    await settle()
    const rows = wrapper.findAll('[data-test="window-row"]')
    expect(rows.map((r) => r.get('[data-test="window-name-link"]').text())).toEqual(['DC migration', 'Freeze', 'Patch night'])
    const [once, freeze, patch] = rows
    expect(patch!.get('[data-test="window-when"]').text()).toBe('Daily 23:00 for 3 h')
    expect(patch!.get('[data-test="window-policy-badge"]').attributes('data-policy')).toBe('defer')
    expect(patch!.get('[data-test="window-policy-badge"]').text()).toBe('defer')
    expect(patch!.get('[data-test="window-scope"]').text()).toBe('Device groups: core')
    expect(patch!.get('[data-test="window-next-span-cell"]').text()).toBe('Fri 2 Oct 2026 at 23:00 – Sat 3 Oct 2026 at 02:00')
    expect(patch!.find('[data-test="window-disabled"]').exists()).toBe(false)

    expect(once!.get('[data-test="window-when"]').text()).toBe('Once Sat 5 Jun 2027 at 22:00 for 4 h')
    expect(once!.get('[data-test="window-policy-badge"]').attributes('data-policy')).toBe('skip')
    // No device of this collection group is visible: its id is shown.
    expect(once!.get('[data-test="window-scope"]').text()).toBe('Collection groups: #3')
    expect(once!.get('[data-test="window-disabled"]').text()).toBe('disabled')
    expect(once!.get('[data-test="window-next-span-cell"]').text()).toBe('Disabled')
    expect(freeze!.get('[data-test="window-scope"]').text()).toBe('Every device')

    // The two policies have their own colours.
    const colour = (r: VueWrapper | ReturnType<typeof wrapper.get>) =>
      r.get('[data-test="window-policy-badge"]').classes().find((c) => c.startsWith('bg-'))
    expect(colour(patch!)).not.toBe(colour(once!))
    expect(wrapper.findAll('[data-test="window-edit"]')).toHaveLength(3)
    expect(wrapper.find('[data-test="window-new"]').exists()).toBe(true)
    wrapper.unmount()
  })

  it("creates a one-off window and shows the API's messages under its fields", async () => {
    document.cookie = 'csrftoken=abc'
    const requests = handler(() => ({
      status: 400,
      body: {
        name: ['A maintenance window with this name already exists.'],
        start: ['A one-off window needs its start.'],
        duration_minutes: ['Duration must be a whole number of minutes from 1 to 10080 (a week).'],
      },
    }))
    const { wrapper } = await mountPage(SchedulesPage, { now: NOW })
    await settle()
    await wrapper.get('[data-test="window-new"]').trigger('click')
    await settle()
    const dialog = wrapper.findComponent(SchedulesWindowEditorDialog)
    expect(texts('[data-test="window-editor-title"]')).toEqual(['New maintenance window'])

    field(dialog, 'window-name').vm.$emit('update:modelValue', 'Patch night')
    field(dialog, 'window-type').vm.$emit('update:modelValue', 'once')
    await flushPromises()
    expect(field(dialog, 'window-date').props('hint')).toBe('Date and time in Australia/Sydney')
    field(dialog, 'window-date').vm.$emit('update:modelValue', '2027-06-05')
    field(dialog, 'window-hour').vm.$emit('update:modelValue', '22')
    field(dialog, 'window-duration').vm.$emit('update:modelValue', '20000')
    field(dialog, 'window-device-groups').vm.$emit('update:modelValue', [1, '7'])
    await flushPromises()
    await dialog.findComponent(QForm).trigger('submit')
    await settle()

    const post = requests.find((r) => r.method === 'POST')!
    expect(post.url.pathname).toBe('/api/maintenance-windows/')
    expect(post.headers['X-CSRFToken']).toBe('abc')
    // 22:00 on 5 June 2027 in Sydney (the display zone) is 12:00Z.
    expect(post.body).toEqual({
      name: 'Patch night',
      enabled: true,
      timezone: null,
      schedule_type: 'once',
      start: '2027-06-05T12:00:00Z',
      day_of_week: null,
      day_of_month: null,
      cron_expression: '',
      duration_minutes: 20000,
      policy: 'skip',
      device_groups: [1, 7],
      collection_groups: [],
    })
    expect(field(dialog, 'window-name').props('errorMessage')).toBe('A maintenance window with this name already exists.')
    expect(field(dialog, 'window-date').props('errorMessage')).toBe('A one-off window needs its start.')
    expect(field(dialog, 'window-duration').props('errorMessage')).toBe(
      'Duration must be a whole number of minutes from 1 to 10080 (a week).',
    )
    expect(texts('.q-dialog .q-field--error .q-field__messages')).toHaveLength(3)

    // Changing a field clears its message; the dialog stays open.
    field(dialog, 'window-duration').vm.$emit('update:modelValue', '240')
    await flushPromises()
    expect(field(dialog, 'window-duration').props('error')).toBe(false)
    expect(document.querySelector('[data-test="window-save"]')).not.toBeNull()
    wrapper.unmount()
  })

  it('edits with PATCH and deletes after a confirmation', async () => {
    const requests = handler((method) => (method === 'DELETE' ? { status: 204 } : { body: patchNight }))
    const { wrapper } = await mountPage(SchedulesPage, { now: NOW })
    await settle()
    const patchRow = wrapper.get('[data-test="window-row"][data-window-id="1"]')
    await patchRow.get('[data-test="window-edit"]').trigger('click')
    await settle()
    const dialog = wrapper.findComponent(SchedulesWindowEditorDialog)
    expect(texts('[data-test="window-editor-title"]')).toEqual(['Edit “Patch night”'])
    expect(field(dialog, 'window-hour').props('modelValue')).toBe(23)
    expect(texts('[data-test="window-next-span"]')).toEqual(['Fri 2 Oct 2026 at 23:00 – Sat 3 Oct 2026 at 02:00'])
    field(dialog, 'window-policy').vm.$emit('update:modelValue', 'skip')
    await dialog.findComponent(QForm).trigger('submit')
    await settle()
    const patch = requests.find((r) => r.method === 'PATCH')!
    expect(patch.url.pathname).toBe('/api/maintenance-windows/1/')
    expect(patch.body).toMatchObject({ name: 'Patch night', policy: 'skip', hour: 23, minute: 0, start: null, device_groups: [1] })
    expect(document.body.textContent).toContain('Maintenance window “Patch night” saved.')

    await wrapper.get('[data-test="window-row"][data-window-id="1"]').get('[data-test="window-delete"]').trigger('click')
    await settle()
    expect(texts('[data-test="window-delete-text"]')[0]).toContain('no longer deferred')
    expect(requests.some((r) => r.method === 'DELETE')).toBe(false)
    click('[data-test="window-delete-confirm"]')
    await settle()
    expect(requests.find((r) => r.method === 'DELETE')!.url.pathname).toBe('/api/maintenance-windows/1/')
    expect(document.body.textContent).toContain('Maintenance window “Patch night” deleted.')
    wrapper.unmount()
  })

  it('is read only for users who are not staff', async () => {
    const requests = handler()
    const { wrapper } = await mountPage(SchedulesPage, { now: NOW }, VIEWER_SESSION)
    await settle()
    expect(wrapper.find('[data-test="window-new"]').exists()).toBe(false)
    expect(wrapper.find('[data-test="window-edit"]').exists()).toBe(false)
    expect(wrapper.find('[data-test="window-delete"]').exists()).toBe(false)
    await wrapper.get('[data-test="window-row"][data-window-id="2"]').get('[data-test="window-view"]').trigger('click')
    await settle()
    const dialog = wrapper.findComponent(SchedulesWindowEditorDialog)
    expect(texts('[data-test="window-editor-title"]')).toEqual(['DC migration'])
    expect(field(dialog, 'window-name').props('readonly')).toBe(true)
    expect(field(dialog, 'window-date').props('modelValue')).toBe('2027-06-05')
    expect(field(dialog, 'window-hour').props('modelValue')).toBe(22)
    expect(field(dialog, 'window-collection-groups').props('readonly')).toBe(true)
    expect(document.querySelector('[data-test="window-save"]')).toBeNull()
    expect(requests.every((r) => r.method === 'GET')).toBe(true)
    wrapper.unmount()
  })
})

describe('SchedulesPage: the editor previews what the windows do to each run', () => {
  // Sydney, display zone: 01:30–02:30 defers every device; 01:00–03:00 skips group 1's; a
  // disabled whole-fleet skip and a window ending at 02:00 (end exclusive) change nothing.
  const deferAll: MaintenanceWindow = {
    ...patchNight,
    id: 21,
    name: 'Night defer',
    hour: 1,
    minute: 30,
    duration_minutes: 60,
    policy: 'defer',
    device_groups: [],
    next_spans: [],
  }
  const skipCore: MaintenanceWindow = { ...deferAll, id: 22, name: 'Core patch', hour: 1, minute: 0, duration_minutes: 120, policy: 'skip', device_groups: [1] }
  const disabledSkip: MaintenanceWindow = { ...deferAll, id: 23, name: 'Off', enabled: false, policy: 'skip' }
  const endsAtRun: MaintenanceWindow = { ...deferAll, id: 24, name: 'Evening', hour: 0, minute: 0, duration_minutes: 120, policy: 'skip' }

  function stub(windows: MaintenanceWindow[]) {
    return stubFetch(({ url }) => {
      const page = (results: unknown[]) => ({ body: { count: results.length, next: null, previous: null, results } })
      if (url.pathname === '/api/backup-schedules/') return page([nightly])
      if (url.pathname === '/api/maintenance-windows/') return page(windows)
      if (url.pathname === '/api/devices/') return page(devices)
      return { status: 404, body: { detail: 'Not found.' } }
    })
  }

  it('a whole-fleet defer, a scoped skip; disabled windows and a window ending at the run are ignored; fetched once', async () => {
    const requests = stub([deferAll, skipCore, disabledSkip, endsAtRun])
    const { wrapper } = await mountPage(SchedulesPage, { now: NOW })
    await settle()
    expect(wrapper.findAll('[data-test="window-row"]')).toHaveLength(4)
    await wrapper.get('[data-test="schedule-edit"]').trigger('click')
    await settle()

    const runs = [...document.querySelectorAll('[data-test="schedule-preview-run"]')]
    expect(runs).toHaveLength(5)
    expect(runs.map((r) => r.getAttribute('data-fate'))).toEqual(['defer', 'defer', 'defer', 'defer', 'defer'])
    const lines = (run: Element) =>
      [...run.querySelectorAll('[data-test="schedule-preview-window"]')].map((el) => [
        el.getAttribute('data-policy'),
        el.getAttribute('data-scope'),
        el.textContent!.replace(/\s+/g, ' ').trim(),
      ])
    expect(lines(runs[0]!)).toEqual([
      ['defer', 'all', 'Deferred to 02:30 (end of “Night defer”)'],
      ['skip', 'groups', 'Devices of “Core patch”\'s groups are skipped'],
    ])
    // Sun 4 Oct, clocks go forward: 02:00 runs at 03:00, the window (01:30 AEST, 60 min) ends at 03:30.
    expect(lines(runs[1]!)[0]).toEqual(['defer', 'all', 'Deferred to 03:30 (end of “Night defer”)'])
    // The fifth run is beyond the three spans the server would list: worked out in the browser.
    expect(lines(runs[4]!)).toHaveLength(2)
    expect(requests.filter((r) => r.url.pathname === '/api/maintenance-windows/')).toHaveLength(1)
    wrapper.unmount()
  })

  it('a whole-fleet skip wins over the defer and strikes the run out; start inclusive, end exclusive, in the window\'s zone', async () => {
    // 17:00–18:00 in Berlin is 15:00–16:00 UTC: until 02:00 AEST on Sat 3 Oct and until 03:00
    // AEDT on Sun 4 Oct (the runs are at its end), then 02:00–03:00 AEDT (holds the 02:00 run).
    const freeze: MaintenanceWindow = { ...deferAll, id: 25, name: 'Freeze', policy: 'skip', timezone: 'Europe/Berlin', hour: 17, minute: 0 }
    stub([freeze, deferAll])
    const { wrapper } = await mountPage(SchedulesPage, { now: NOW })
    await settle()
    await wrapper.get('[data-test="schedule-edit"]').trigger('click')
    await settle()
    const runs = [...document.querySelectorAll('[data-test="schedule-preview-run"]')]
    expect(runs.map((r) => r.getAttribute('data-fate'))).toEqual(['defer', 'defer', 'skip', 'skip', 'skip'])
    expect(texts('[data-test="schedule-preview-run"][data-fate="skip"] [data-test="schedule-preview-window"]')).toEqual([
      'Skipped: inside maintenance window “Freeze”',
      'Skipped: inside maintenance window “Freeze”',
      'Skipped: inside maintenance window “Freeze”',
    ])
    wrapper.unmount()
  })
})
