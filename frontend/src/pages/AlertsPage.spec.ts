import { afterEach, describe, expect, it, vi } from 'vitest'

import type { Notification, NotificationChannel, NotificationRule } from '../api/alerts'
import { mountPage, type RecordedRequest, settle, stubFetch, VIEWER_SESSION } from '../test/helpers'
import AlertsPage from './AlertsPage.vue'

function channel(fields: Partial<NotificationChannel> = {}): NotificationChannel {
  return {
    id: 1, name: 'NOC hook', kind: 'webhook', target: 'https://hooks.example.com/x', preset: 'generic',
    has_secret: true, enabled: true, created_at: '2026-12-01T00:00:00Z', updated_at: '2026-12-01T00:00:00Z',
    ...fields,
  }
}

function rule(fields: Partial<NotificationRule> = {}): NotificationRule {
  return {
    id: 7, name: 'Core failures', owner: 'alice', channel: 1, events: ['backup_failed', 'recovered'],
    device_groups: [3], failures_in_a_row: 2, enabled: true,
    created_at: '2026-12-01T00:00:00Z', updated_at: '2026-12-01T00:00:00Z', ...fields,
  }
}

function notification(fields: Partial<Notification> = {}): Notification {
  return {
    id: 11, rule: 7, rule_name: 'Core failures', channel: 1, channel_name: 'NOC hook', event: 'backup_failed',
    subject: '[DeviceVault] backup_failed: 500 devices', message: '500 devices: backups failed: Dev-1, Dev-2 and 498 more.',
    device_count: 500, status: 'sent', attempts: 4, last_error: '', created_at: '2026-12-03T01:00:00Z',
    sent_at: '2026-12-03T01:00:05Z', next_attempt_at: null, ...fields,
  }
}

const page = <T,>(results: T[]) => ({ count: results.length, next: null, previous: null, results })

/** The API as the page sees it; `answer` overrides single requests. */
function server(answer: (r: RecordedRequest) => { status?: number; body?: unknown } | undefined = () => undefined) {
  return stubFetch((request) => {
    const special = answer(request)
    if (special) return special
    const path = request.url.pathname
    if (path === '/api/notification-channels/') return { body: page([channel()]) }
    if (path === '/api/notification-rules/') return { body: page([rule()]) }
    if (path === '/api/notification-rules/device-groups/') return { body: [{ id: 3, name: 'core' }, { id: 4, name: 'edge' }] }
    if (path === '/api/notifications/') return { body: page([notification(), notification({ id: 12, status: 'failed', attempts: 55, last_error: 'http 500: Internal Server Error', device_count: 1, message: 'R1: backup failed.' })]) }
    return { status: 404, body: { detail: 'Not found.' } }
  })
}

afterEach(() => {
  vi.unstubAllGlobals()
})

describe('AlertsPage', () => {
  it('lists channels, rules and recent notifications with their delivery status', async () => {
    server()
    const { wrapper } = await mountPage(AlertsPage)
    await settle()
    const channels = wrapper.get('[data-test="channels"]').text()
    expect(channels).toContain('NOC hook')
    expect(channels).toContain('https://hooks.example.com/x')
    const rules = wrapper.get('[data-test="rule-7"]').text()
    expect(rules).toContain('Backup failed, Recovered')
    expect(rules).toContain('core')
    const statuses = wrapper.findAll('[data-test="delivery-status"]').map((c) => c.attributes('data-status'))
    expect(statuses).toEqual(['sent', 'failed'])
    expect(wrapper.get('[data-test="notification-11"]').text()).toContain('sent (after 4 tries)')
    expect(wrapper.get('[data-test="notification-12"] [data-test="delivery-error"]').text()).toBe('http 500: Internal Server Error')
    wrapper.unmount()
  })

  it('creates a rule with the events and device groups ticked', async () => {
    const requests = server((r) =>
      r.method === 'POST' && r.url.pathname === '/api/notification-rules/' ? { status: 201, body: rule({ id: 8 }) } : undefined,
    )
    const { wrapper } = await mountPage(AlertsPage)
    await settle()
    await wrapper.get('[data-test="rule-new"]').trigger('click')
    await wrapper.get('input[data-test="rule-name"]').setValue('Edge stale')
    const boxes = wrapper.findAll('[data-test="rule-groups"] .q-checkbox')
    await boxes[1].trigger('click') // edge
    await wrapper.get('[data-test="rule-save"]').trigger('click')
    await settle()
    const post = requests.find((r) => r.method === 'POST')!
    expect(post.body).toEqual({
      name: 'Edge stale', channel: 1, events: ['backup_failed', 'missed_window', 'stale', 'recovered'],
      device_groups: [4], failures_in_a_row: 1, enabled: true,
    })
    expect(wrapper.find('[data-test="rule-form"]').exists()).toBe(false)
    wrapper.unmount()
  })

  it("shows the server's per-field messages next to the fields", async () => {
    server((r) =>
      r.method === 'POST' && r.url.pathname === '/api/notification-rules/'
        ? { status: 400, body: { events: ['This list may not be empty.'] } }
        : undefined,
    )
    const { wrapper } = await mountPage(AlertsPage)
    await settle()
    await wrapper.get('[data-test="rule-new"]').trigger('click')
    await wrapper.get('[data-test="rule-save"]').trigger('click')
    await settle()
    expect(wrapper.get('[data-test="rule-events-error"]').text()).toBe('This list may not be empty.')
    expect(wrapper.find('[data-test="rule-form"]').exists()).toBe(true)
    wrapper.unmount()
  })

  it('creates a webhook channel with a secret and sends a test message', async () => {
    const requests = server((r) => {
      if (r.method === 'POST' && r.url.pathname === '/api/notification-channels/') return { status: 201, body: channel({ id: 2 }) }
      if (r.method === 'POST' && r.url.pathname === '/api/notification-channels/1/test/') {
        return { body: { notification_id: 13, status: 'failed', error: 'http 404: Not Found' } }
      }
      return undefined
    })
    const { wrapper } = await mountPage(AlertsPage)
    await settle()
    await wrapper.get('[data-test="channel-new"]').trigger('click')
    await wrapper.get('input[data-test="channel-name"]').setValue('Slack')
    await wrapper.findAll('[data-test="channel-kind"] .q-radio')[1].trigger('click')
    await wrapper.get('input[data-test="channel-target"]').setValue('https://hooks.slack.com/services/T/B/X')
    await wrapper.findAll('[data-test="channel-preset"] .q-radio')[1].trigger('click')
    await wrapper.get('input[data-test="channel-secret"]').setValue('s3cret')
    await wrapper.get('[data-test="channel-save"]').trigger('click')
    await settle()
    expect(requests.find((r) => r.method === 'POST')!.body).toEqual({
      name: 'Slack', kind: 'webhook', target: 'https://hooks.slack.com/services/T/B/X', preset: 'slack', enabled: true, secret: 's3cret',
    })
    await wrapper.get('[data-test="channel-1"] [data-test="channel-test"]').trigger('click')
    await settle()
    expect(document.body.textContent).toContain('Test message to NOC hook failed: http 404: Not Found')
    wrapper.unmount()
  })

  it('lets users who are not staff manage their rules but not the channels', async () => {
    server()
    const { wrapper } = await mountPage(AlertsPage, {}, VIEWER_SESSION)
    await settle()
    expect(wrapper.find('[data-test="channel-new"]').exists()).toBe(false)
    expect(wrapper.find('[data-test="channel-test"]').exists()).toBe(false)
    expect(wrapper.find('[data-test="rule-new"]').exists()).toBe(true)
    wrapper.unmount()
  })
})
