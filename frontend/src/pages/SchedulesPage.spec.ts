import { flushPromises, type VueWrapper } from '@vue/test-utils'
import { QForm, QInput, QSelect } from 'quasar'
import { afterEach, describe, expect, it, vi } from 'vitest'

import SchedulesEditorDialog from '../components/SchedulesEditorDialog.vue'
import { mountPage, settle, stubFetch, VIEWER_SESSION } from '../test/helpers'
import SchedulesPage from './SchedulesPage.vue'

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
  spread_minutes: 30,
  overlap_policy: 'skip',
  next_run_at: '2026-10-02T16:00:00Z',
  last_run_at: null,
  device_count: 4,
  description: 'Daily at 02:00',
  next_runs: ['2026-10-02T16:00:00Z', '2026-10-03T16:00:00Z'],
}

const berlin = {
  ...nightly,
  id: 6,
  name: 'Berlin weekly',
  schedule_type: 'weekly',
  day_of_week: 0,
  hour: 3,
  minute: 30,
  timezone: 'Europe/Berlin',
  spread_minutes: 0,
  overlap_policy: 'queue',
  enabled: false,
  device_count: 0,
  description: 'Weekly on Monday at 03:30',
  next_runs: [],
}

// 10:00 on Friday 2 October 2026 in Sydney; clocks go forward on Sunday 4 October.
const NOW = () => new Date('2026-10-02T00:00:00Z')

type Answer = { status?: number; body?: unknown }

function handler(write: (method: string, path: string, body: unknown) => Answer = () => ({ status: 500 })) {
  return stubFetch(({ url, method, body }) => {
    if (url.pathname === '/api/backup-schedules/' && method === 'GET') {
      return { body: { count: 2, next: null, previous: null, results: [nightly, berlin] } }
    }
    if (url.pathname.startsWith('/api/backup-schedules/')) return write(method, url.pathname, body)
    return { status: 404, body: { detail: 'Not found.' } }
  })
}

/** The editor's field whose `data-test` is `name` (QInput or QSelect: both have these props). */
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
  // A dialog still open at unmount leaves its portal behind (the notifications' one stays).
  for (const portal of document.querySelectorAll('[id^="q-portal--dialog"]')) portal.remove()
})

describe('SchedulesPage', () => {
  it('lists the schedules with description, zone, device count and next run in the display time zone', async () => {
    handler()
    const { wrapper } = await mountPage(SchedulesPage, { now: NOW })
    await settle()

    const rows = wrapper.findAll('[data-test="schedule-row"]')
    // Sorted by name.
    expect(rows.map((r) => r.get('[data-test="schedule-name-link"]').text())).toEqual(['Berlin weekly', 'Nightly'])
    const [weekly, daily] = rows
    expect(daily!.get('[data-test="schedule-description"]').text()).toBe('Daily at 02:00')
    expect(daily!.get('[data-test="schedule-zone"]').text()).toBe('Australia/Sydney (display)')
    expect(daily!.get('[data-test="schedule-device-count"]').text()).toBe('4')
    expect(daily!.get('[data-test="schedule-next-run"]').text()).toBe('Sat 3 Oct 2026 at 02:00')
    expect(daily!.get('[data-test="schedule-policy"]').text()).toMatch(/priority 5 · spread 30 min · skip overlaps/)
    expect(weekly!.get('[data-test="schedule-zone"]').text()).toBe('Europe/Berlin')
    expect(weekly!.get('[data-test="schedule-next-run"]').text()).toBe('Disabled')
    expect(weekly!.find('[data-test="schedule-disabled"]').exists()).toBe(true)
    expect(wrapper.get('[data-test="schedules-timezone"]').text()).toBe('Times in Australia/Sydney')
    expect(wrapper.find('[data-test="schedule-new"]').exists()).toBe(true)
    expect(wrapper.findAll('[data-test="schedule-edit"]')).toHaveLength(2)
    expect(wrapper.findAll('[data-test="schedule-delete"]')).toHaveLength(2)
    wrapper.unmount()
  })

  it('shows the API\'s messages under the fields of a refused schedule', async () => {
    document.cookie = 'csrftoken=abc'
    const requests = handler(() => ({
      status: 400,
      body: {
        day_of_week: ['A weekly schedule needs a day of the week (0-6, Monday = 0).'],
        timezone: ["Unknown timezone 'Mars/Olympus'."],
        spread_minutes: ['Ensure this value is less than or equal to 720.'],
      },
    }))
    const { wrapper } = await mountPage(SchedulesPage, { now: NOW })
    await settle()
    await wrapper.get('[data-test="schedule-new"]').trigger('click')
    await settle()
    const dialog = wrapper.findComponent(SchedulesEditorDialog)
    expect(texts('[data-test="schedule-editor-title"]')).toEqual(['New schedule'])

    field(dialog, 'schedule-name').vm.$emit('update:modelValue', 'Core weekly')
    field(dialog, 'schedule-type').vm.$emit('update:modelValue', 'weekly')
    field(dialog, 'schedule-spread').vm.$emit('update:modelValue', '900')
    await flushPromises()
    expect(texts('[data-test="schedule-preview-error"]')).toEqual(['No preview: Choose a day of the week.'])
    await dialog.findComponent(QForm).trigger('submit')
    await settle()

    const post = requests.find((r) => r.method === 'POST')!
    expect(post.url.pathname).toBe('/api/backup-schedules/')
    expect(post.headers['X-CSRFToken']).toBe('abc')
    expect(post.body).toMatchObject({ name: 'Core weekly', schedule_type: 'weekly', day_of_week: null, spread_minutes: 900 })
    expect(field(dialog, 'schedule-day-of-week').props('errorMessage')).toBe(
      'A weekly schedule needs a day of the week (0-6, Monday = 0).',
    )
    expect(field(dialog, 'schedule-timezone').props('errorMessage')).toBe("Unknown timezone 'Mars/Olympus'.")
    expect(field(dialog, 'schedule-spread').props('errorMessage')).toBe('Ensure this value is less than or equal to 720.')
    expect(field(dialog, 'schedule-name').props('error')).toBe(false)
    expect(texts('.q-dialog .q-field--error .q-field__messages')).toEqual([
      'A weekly schedule needs a day of the week (0-6, Monday = 0).',
      "Unknown timezone 'Mars/Olympus'.",
      'Ensure this value is less than or equal to 720.',
    ])

    // Changing a field clears its message; the dialog stays open until a save succeeds.
    field(dialog, 'schedule-day-of-week').vm.$emit('update:modelValue', 2)
    await flushPromises()
    expect(field(dialog, 'schedule-day-of-week').props('error')).toBe(false)
    expect(document.querySelector('[data-test="schedule-save"]')).not.toBeNull()
    wrapper.unmount()
  })

  it('templates fill the editor; the preview follows DST in the zone and shows the spread window', async () => {
    const requests = handler((_method, _path, body) => ({ status: 201, body: { ...nightly, ...(body as object), id: 9 } }))
    const { wrapper } = await mountPage(SchedulesPage, { now: NOW })
    await settle()
    await wrapper.get('[data-test="schedule-new"]').trigger('click')
    await settle()
    const dialog = wrapper.findComponent(SchedulesEditorDialog)
    expect(texts('[data-test^="schedule-template-"] .q-chip__content')).toEqual([
      'Nightly 02:00',
      'Weekly Sunday 03:00',
      'Business hours every 4 h',
    ])

    click('[data-test="schedule-template-weekly-sunday"]')
    await flushPromises()
    expect(field(dialog, 'schedule-type').props('modelValue')).toBe('weekly')
    expect(field(dialog, 'schedule-day-of-week').props('modelValue')).toBe(6)
    expect(texts('[data-test="schedule-preview-run"]').slice(0, 2)).toEqual([
      'Sun 4 Oct 2026 at 03:00',
      'Sun 11 Oct 2026 at 03:00',
    ])

    click('[data-test="schedule-template-business-hours"]')
    await flushPromises()
    expect(field(dialog, 'schedule-cron').props('modelValue')).toBe('0 8-16/4 * * 1-5')
    expect(texts('[data-test="schedule-preview-run"]').slice(0, 3)).toEqual([
      'Fri 2 Oct 2026 at 12:00',
      'Fri 2 Oct 2026 at 16:00',
      'Mon 5 Oct 2026 at 08:00',
    ])

    click('[data-test="schedule-template-nightly"]')
    await flushPromises()
    field(dialog, 'schedule-minute').vm.$emit('update:modelValue', '30')
    field(dialog, 'schedule-spread').vm.$emit('update:modelValue', '30')
    await flushPromises()
    expect(texts('[data-test="schedule-preview-run"] > span:first-child').slice(0, 3)).toEqual([
      'Sat 3 Oct 2026 at 02:30',
      'Sun 4 Oct 2026 at 03:30',
      'Mon 5 Oct 2026 at 02:30',
    ])
    expect(texts('[data-test="schedule-preview-note"]')).toEqual([
      '02:30 does not exist that day (clocks go forward): it runs at 03:30',
    ])
    expect(texts('[data-test="schedule-preview-spread"]')[0]).toBe('devices start between 02:30 and 03:00')

    // In another zone the runs are shown there, with the display zone in brackets.
    field(dialog, 'schedule-timezone').vm.$emit('update:modelValue', 'America/New_York')
    await flushPromises()
    expect(texts('[data-test="schedule-preview-zone"]')).toEqual(['Times in America/New_York'])
    // 20:00 on 1 October in New York: the next 02:30 there is 16:30 in Sydney.
    expect(texts('[data-test="schedule-preview-run"] > span:first-child')[0]).toBe('Fri 2 Oct 2026 at 02:30')
    expect(texts('[data-test="schedule-preview-display"]')[0]).toBe('Australia/Sydney: Fri 2 Oct 2026 at 16:30')

    await dialog.findComponent(QForm).trigger('submit')
    await settle()
    const post = requests.find((r) => r.method === 'POST')!
    expect(post.body).toEqual({
      name: 'Nightly 02:00',
      schedule_type: 'daily',
      hour: 2,
      minute: 30,
      day_of_week: null,
      day_of_month: null,
      cron_expression: '',
      enabled: true,
      timezone: 'America/New_York',
      priority: 5,
      spread_minutes: 30,
      overlap_policy: 'skip',
    })
    expect(document.body.textContent).toContain('Schedule “Nightly 02:00” created.')
    // The list is read again.
    expect(requests.at(-1)!.method).toBe('GET')
    wrapper.unmount()
  })

  it('edits with PATCH and deletes after a confirmation', async () => {
    const requests = handler((method) => (method === 'DELETE' ? { status: 204 } : { body: nightly }))
    const { wrapper } = await mountPage(SchedulesPage, { now: NOW })
    await settle()

    await wrapper.findAll('[data-test="schedule-edit"]')[1]!.trigger('click')
    await settle()
    const dialog = wrapper.findComponent(SchedulesEditorDialog)
    expect(texts('[data-test="schedule-editor-title"]')).toEqual(['Edit “Nightly”'])
    expect(document.querySelector('[data-test="schedule-templates"]')).toBeNull()
    field(dialog, 'schedule-priority').vm.$emit('update:modelValue', '8')
    await dialog.findComponent(QForm).trigger('submit')
    await settle()
    const patch = requests.find((r) => r.method === 'PATCH')!
    expect(patch.url.pathname).toBe('/api/backup-schedules/5/')
    expect(patch.body).toMatchObject({ name: 'Nightly', priority: 8, spread_minutes: 30 })

    await wrapper.findAll('[data-test="schedule-delete"]')[1]!.trigger('click')
    await settle()
    expect(texts('[data-test="schedule-delete-text"]')[0]).toContain('4 enabled devices you can see are on this schedule')
    expect(requests.some((r) => r.method === 'DELETE')).toBe(false)
    click('[data-test="schedule-delete-confirm"]')
    await settle()
    const del = requests.find((r) => r.method === 'DELETE')!
    expect(del.url.pathname).toBe('/api/backup-schedules/5/')
    expect(document.body.textContent).toContain('Schedule “Nightly” deleted.')
    wrapper.unmount()
  })

  it('shows the server\'s next runs for a saved cron the preview cannot work out', async () => {
    const lastDay = {
      ...nightly,
      id: 7,
      name: 'Last day',
      schedule_type: 'cron',
      cron_expression: '0 2 L * *',
      description: 'Cron: 0 2 L * *',
      next_runs: ['2026-10-30T15:00:00Z', '2026-11-29T15:00:00Z'],
    }
    stubFetch(({ url }) =>
      url.pathname === '/api/backup-schedules/'
        ? { body: { count: 1, next: null, previous: null, results: [lastDay] } }
        : { status: 404, body: { detail: 'Not found.' } },
    )
    const { wrapper } = await mountPage(SchedulesPage, { now: NOW })
    await settle()
    await wrapper.get('[data-test="schedule-edit"]').trigger('click')
    await settle()
    expect(texts('[data-test="schedule-preview-error"]')[0]).toMatch(/^No preview: The preview does not understand “L”/)
    expect(texts('[data-test="schedule-server-run"]')).toEqual(['Sat 31 Oct 2026 at 02:00', 'Mon 30 Nov 2026 at 02:00'])

    // Once the expression changes, the saved runs no longer apply.
    const dialog = wrapper.findComponent(SchedulesEditorDialog)
    field(dialog, 'schedule-cron').vm.$emit('update:modelValue', '0 2 1 * *')
    await flushPromises()
    expect(document.querySelector('[data-test="schedule-server-run"]')).toBeNull()
    expect(texts('[data-test="schedule-preview-run"] > span:first-child')[0]).toBe('Sun 1 Nov 2026 at 02:00')
    wrapper.unmount()
  })

  it('is read only for users who are not staff', async () => {
    const requests = handler()
    const { wrapper } = await mountPage(SchedulesPage, { now: NOW }, VIEWER_SESSION)
    await settle()
    expect(wrapper.find('[data-test="schedule-new"]').exists()).toBe(false)
    expect(wrapper.find('[data-test="schedule-edit"]').exists()).toBe(false)
    expect(wrapper.find('[data-test="schedule-delete"]').exists()).toBe(false)
    expect(wrapper.get('[data-test="schedules-readonly"]').text()).toContain('Only staff')

    await wrapper.findAll('[data-test="schedule-view"]')[1]!.trigger('click')
    await settle()
    const dialog = wrapper.findComponent(SchedulesEditorDialog)
    expect(texts('[data-test="schedule-editor-title"]')).toEqual(['Nightly'])
    expect(field(dialog, 'schedule-name').props('readonly')).toBe(true)
    expect(field(dialog, 'schedule-timezone').props('readonly')).toBe(true)
    expect(document.querySelector('[data-test="schedule-save"]')).toBeNull()
    expect(document.querySelector('[data-test="schedule-templates"]')).toBeNull()
    // The preview still works for them.
    expect(texts('[data-test="schedule-preview-run"] > span:first-child')[0]).toBe('Sat 3 Oct 2026 at 02:00')
    expect(requests.every((r) => r.method === 'GET')).toBe(true)
    wrapper.unmount()
  })
})
