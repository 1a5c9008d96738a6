import { afterEach, describe, expect, it, vi } from 'vitest'
import { defineComponent, h } from 'vue'

import type { Analytics, AnalyticsGroup } from '../api/results'
import { mountPage, settle, stubFetch } from '../test/helpers'

// jsdom has no canvas: the charts are stand-ins that show the data they were given.
vi.mock('vue-chartjs', () => {
  const stub = (kind: string) =>
    defineComponent({
      props: { data: { type: Object, required: true }, options: Object },
      setup: (props) => () => h('div', { 'data-chart': kind, 'data-labels': JSON.stringify(props.data.labels) }),
    })
  return { Bar: stub('bar'), Line: stub('line') }
})

const { default: AnalyticsPage } = await import('./AnalyticsPage.vue')

function group(name: string, fields: Partial<AnalyticsGroup> = {}): AnalyticsGroup {
  return {
    id: 1, name, total: 0, success: 0, failed: 0, missed_window: 0, skipped: 0, success_rate: null,
    duration_p50_seconds: null, duration_p95_seconds: null, top_errors: [], ...fields,
  }
}

function handler(groups: (groupBy: string) => AnalyticsGroup[]) {
  return stubFetch(({ url }) => {
    const groupBy = url.searchParams.get('group_by')!
    const body: Analytics = { start: '2026-11-01', end: '2026-11-02', group_by: groupBy, groups: groups(groupBy) }
    return { body }
  })
}

afterEach(() => {
  vi.unstubAllGlobals()
})

describe('AnalyticsPage', () => {
  it('asks for days, schedules and collection groups and draws them with the top errors', async () => {
    const requests = handler((by) =>
      by === 'day'
        ? [group('2026-11-01', { total: 2, success: 1, failed: 1, success_rate: 0.5 }), group('2026-11-02')]
        : [group(by === 'schedule' ? 'Nightly' : 'sydney-dc1', { total: 2, success: 1, failed: 1, top_errors: [{ error: 'timeout', count: 1 }] })],
    )
    const { wrapper } = await mountPage(AnalyticsPage)
    await settle()
    expect(requests.map((r) => r.url.searchParams.get('group_by')).sort()).toEqual(['collection_group', 'day', 'schedule'])
    expect(wrapper.get('[data-test="analytics-total"]').text()).toBe('2')
    expect(wrapper.get('[data-test="analytics-rate"]').text()).toBe('50 %')
    expect(wrapper.get('[data-test="chart-day-rate"] [data-chart]').attributes('data-labels')).toBe('["2026-11-01","2026-11-02"]')
    expect(wrapper.get('[data-test="chart-schedule"] [data-chart="bar"]').attributes('data-labels')).toBe('["Nightly"]')
    expect(wrapper.get('[data-test="chart-collection-group"] [data-chart="bar"]').attributes('data-labels')).toBe('["sydney-dc1"]')
    expect(wrapper.get('[data-test="analytics-errors"]').text()).toContain('timeout')
    expect(wrapper.get('[data-test="analytics-timezone"]').text()).toContain('Days in Australia/Sydney')
    wrapper.unmount()
  })

  it('says when nothing ran in the range, and asks again for a new range', async () => {
    const requests = handler((by) => (by === 'day' ? [group('2026-11-01')] : []))
    const { wrapper } = await mountPage(AnalyticsPage)
    await settle()
    expect(wrapper.find('[data-test="analytics-empty"]').exists()).toBe(true)
    await wrapper.get('input[data-test="analytics-start"]').setValue('2026-10-01')
    await settle()
    expect(requests.at(-1)!.url.searchParams.get('start')).toBe('2026-10-01')
    wrapper.unmount()
  })

  it("shows the server's message as a notification", async () => {
    stubFetch(() => ({ status: 400, body: { end: ['end is before start.'] } }))
    const { wrapper } = await mountPage(AnalyticsPage)
    await settle()
    expect(document.body.textContent).toContain('Could not load the analytics: end: end is before start.')
    wrapper.unmount()
  })
})
