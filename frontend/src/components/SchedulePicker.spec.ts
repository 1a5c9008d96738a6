import { flushPromises, mount } from '@vue/test-utils'
import { QSelect, Quasar } from 'quasar'
import { afterEach, describe, expect, it, vi } from 'vitest'

import type { DeviceSchedule } from '../api/devices'
import type { BackupSchedule } from '../api/schedules'
import { stubFetch } from '../test/helpers'
import SchedulePicker from './SchedulePicker.vue'

const listed: BackupSchedule = {
  id: 5, name: 'Nightly', schedule_type: 'daily', hour: 2, minute: 0, day_of_week: null,
  day_of_month: null, cron_expression: null, enabled: true, next_run_at: '2026-11-10T15:00:00Z',
  last_run_at: null, device_count: 3, description: 'Daily at 02:00',
  timezone: null, priority: 5, spread_minutes: 0, overlap_policy: 'skip', capacity_warning: null,
  next_runs: ['2026-11-10T15:00:00Z', '2026-11-11T15:00:00Z'],
}
const unlisted: DeviceSchedule = {
  id: 9, name: 'Archive', schedule_type: 'daily', hour: 1, minute: 0, day_of_week: null,
  day_of_month: null, cron_expression: '', enabled: true, next_run_at: '2026-12-01T00:00:00Z',
  last_run_at: null,
}

function serveSchedules(status = 200) {
  return stubFetch(() =>
    status === 200
      ? { body: { count: 1, next: null, previous: null, results: [listed] } }
      : { status, body: { detail: 'Server error.' } },
  )
}

function mountPicker(props: InstanceType<typeof SchedulePicker>['$props']) {
  return mount(SchedulePicker, { props, global: { plugins: [Quasar] } })
}

afterEach(() => {
  vi.unstubAllGlobals()
})

describe('SchedulePicker', () => {
  it('on the device form: clearable, keeps the current schedule listed and reports the pick', async () => {
    serveSchedules()
    const wrapper = mountPicker({ modelValue: 9, current: unlisted })
    await flushPromises()
    const select = wrapper.getComponent(QSelect)
    expect(select.props('clearable')).toBe(true)
    expect((select.props('options') as { label: string }[]).map((o) => o.label)).toEqual(['Archive', 'Nightly'])
    expect(wrapper.emitted('selected')?.at(-1)).toEqual([expect.objectContaining({ value: 9, nextRuns: ['2026-12-01T00:00:00Z'] })])

    select.vm.$emit('update:modelValue', null)
    expect(wrapper.emitted('update:modelValue')?.at(-1)).toEqual([null])
    select.vm.$emit('update:modelValue', 5)
    expect(wrapper.emitted('update:modelValue')?.at(-1)).toEqual([5])
  })

  it('in the bulk dialog: "No schedule" is an option of its own, and nothing is chosen at first', async () => {
    serveSchedules()
    const wrapper = mountPicker({ modelValue: undefined, noScheduleOption: true, testId: 'bulk-schedule' })
    await flushPromises()
    const select = wrapper.getComponent(QSelect)
    expect(select.props('clearable')).toBe(false)
    expect(select.props('modelValue')).toBeNull()
    expect((select.props('options') as { label: string }[]).map((o) => o.label)).toEqual(['No schedule', 'Nightly'])

    select.vm.$emit('update:modelValue', 'none')
    expect(wrapper.emitted('update:modelValue')?.at(-1)).toEqual([null])
    await wrapper.setProps({ modelValue: null })
    expect(select.props('modelValue')).toBe('none')
    expect(wrapper.emitted('selected')?.at(-1)).toEqual([expect.objectContaining({ label: 'No schedule' })])
  })

  it('says when the schedules cannot be loaded', async () => {
    serveSchedules(500)
    const wrapper = mountPicker({ modelValue: null })
    await flushPromises()
    expect(wrapper.text()).toContain('Could not load schedules: Server error.')
  })
})
