import { flushPromises } from '@vue/test-utils'
import { afterEach, describe, expect, it, vi } from 'vitest'

import type { Device, DeviceBackup } from '../api/devices'
import type { BackupResult } from '../api/results'
import { mountPage, settle, stubFetch, VIEWER_SESSION } from '../test/helpers'
import DevicePage from './DevicePage.vue'

const device: Device = {
  id: 7,
  name: 'core-rtr-1',
  ip_address: '127.0.0.11',
  enabled: true,
  device_group: { id: 1, name: 'core' },
  collection_group: { id: 2, name: 'sydney-dc1' },
  backup_schedule: {
    id: 3, name: 'Nightly', schedule_type: 'daily', hour: 2, minute: 0, day_of_week: null, day_of_month: null,
    cron_expression: '', enabled: true, next_run_at: '2026-11-10T15:00:00Z', last_run_at: null,
  },
  next_backup: '2026-11-10T15:00:00Z',
  last_backup: { status: 'failed', scheduled_for: '2026-11-09T15:00:00Z', finished_at: '2026-11-09T15:00:05Z', error: 'timeout' },
  stale: true,
  ssh_host_key_fingerprint: 'SHA256:abc',
}

function result(id: number, fields: Partial<BackupResult> = {}): BackupResult {
  return {
    id, device: { id: 7, name: 'core-rtr-1' }, schedule: { id: 3, name: 'Nightly' },
    scheduled_for: '2026-11-09T15:00:00Z', status: 'success', is_catchup: false, manual: false,
    queued_at: '2026-11-09T15:00:00Z', started_at: '2026-11-09T15:00:01Z', finished_at: '2026-11-09T15:00:03Z', error: '',
    attempts: 1, skip_reason: '',
    ...fields,
  }
}

const backups: DeviceBackup[] = [
  { id: 22, result_id: 2, scheduled_for: '2026-11-09T15:00:00Z', collected_at: '2026-11-09T15:00:03Z', sha256: 'b'.repeat(64), size: 2048, changed: true, previous_id: 21 },
  { id: 21, result_id: 1, scheduled_for: '2026-11-08T15:00:00Z', collected_at: '2026-11-08T15:00:03Z', sha256: 'a'.repeat(64), size: 2000, changed: true, previous_id: null },
]

const DIFF = '--- a\n+++ b\n@@ -1,2 +1,2 @@\n hostname r1\n-ntp server 1.1.1.1\n+ntp server 127.0.0.1\n'

function handler(results: () => BackupResult[]) {
  return stubFetch(({ url, method }) => {
    const p = url.pathname
    if (p === '/api/devices/7/') return { body: device }
    if (p === '/api/scheduled-backups/history/') {
      const rows = results()
      return { body: { count: rows.length, next: null, previous: null, results: rows } }
    }
    if (p === '/api/devices/7/backups/') return { body: { count: 2, next: null, previous: null, results: backups } }
    if (p === '/api/devices/7/backups/22/') return { body: { ...backups[0], content: 'hostname r1\nntp server 127.0.0.1\ninterface Gi0/1\n' } }
    if (p === '/api/devices/7/backups/22/diff/') return { body: { backup_id: 22, previous_id: 21, diff: DIFF } }
    if (p === '/api/devices/7/backup-now/' && method === 'POST') return { status: 202, body: { enqueued: 1 } }
    return { status: 404, body: { detail: 'Not found.' } }
  })
}

afterEach(() => {
  vi.unstubAllGlobals()
})

describe('DevicePage', () => {
  it('shows the schedule, next and last backup, the stale badge and the results of this device', async () => {
    const requests = handler(() => [result(2), result(1, { status: 'failed', error: 'timeout' })])
    const { wrapper } = await mountPage(DevicePage, { id: 7 })
    await settle()
    expect(wrapper.get('[data-test="device-name"]').text()).toContain('core-rtr-1')
    expect(wrapper.find('[data-test="device-stale"]').exists()).toBe(true)
    expect(wrapper.get('[data-test="device-schedule"]').text()).toContain('Nightly')
    expect(wrapper.get('[data-test="device-schedule"]').text()).toContain('Wed 11 Nov 2026 at 02:00')
    expect(wrapper.get('[data-test="device-last-backup"] [data-test="status-chip"]').attributes('data-status')).toBe('failed')
    expect(wrapper.get('[data-test="device-timezone"]').text()).toBe('Times in Australia/Sydney')
    const history = requests.find((r) => r.url.pathname === '/api/scheduled-backups/history/')!
    expect(history.url.searchParams.get('device')).toBe('7')
    expect(wrapper.findAll('[data-test="result-row"]').map((r) => r.attributes('data-status'))).toEqual(['success', 'failed'])
    wrapper.unmount()
  })

  it('views a configuration with line numbers and finds lines by search', async () => {
    handler(() => [])
    const { wrapper } = await mountPage(DevicePage, { id: 7 })
    await settle()
    await wrapper.get('[data-test="tab-configs"]').trigger('click')
    await settle()
    const rows = wrapper.findAll('[data-test="backup-row"]')
    expect(rows).toHaveLength(2)
    expect(rows[0]!.text()).toContain('2.0 KB')
    expect(rows[0]!.text()).toContain('bbbbbbbbbbbb')
    expect(rows[0]!.find('[data-test="backup-changed"]').exists()).toBe(true)
    await rows[0]!.get('[data-test="backup-view"]').trigger('click')
    await settle()
    const lines = wrapper.findAll('[data-test="config-line"]')
    expect(lines.map((l) => l.attributes('data-line'))).toEqual(['1', '2', '3'])
    expect(lines[1]!.text()).toBe('2ntp server 127.0.0.1')
    await wrapper.get('input[data-test="config-search"]').setValue('NTP')
    await new Promise((resolve) => setTimeout(resolve, 200)) // the search box's debounce
    await flushPromises()
    expect(wrapper.get('[data-test="config-matches"]').text()).toBe('1 of 1 lines')
    expect(wrapper.findAll('.device-config-viewer__line--match').map((l) => l.attributes('data-line'))).toEqual(['2'])
    wrapper.unmount()
  })

  it('diffs two versions with the changed lines highlighted, unified and side by side', async () => {
    const requests = handler(() => [])
    const { wrapper } = await mountPage(DevicePage, { id: 7 })
    await settle()
    await wrapper.get('[data-test="tab-compare"]').trigger('click')
    await settle()
    const diff = requests.find((r) => r.url.pathname === '/api/devices/7/backups/22/diff/')!
    expect(diff.url.searchParams.get('against')).toBe('21')
    const kinds = wrapper.findAll('[data-test="diff-line"]').map((l) => l.attributes('data-kind'))
    expect(kinds).toEqual(['header', 'header', 'hunk', 'context', 'del', 'add'])
    expect(wrapper.get('[data-kind="add"]').classes()).toContain('device-backup-diff__line--add')
    expect(wrapper.get('[data-test="diff-stats"]').text()).toMatch(/^\+1\s*−1$/)
    await wrapper.get('[data-test="diff-mode"]').findAll('button')[1]!.trigger('click')
    await settle()
    expect(wrapper.get('[data-test="diff-view"]').attributes('data-mode')).toBe('split')
    const left = wrapper.findAll('[data-test="diff-left"]').map((l) => l.attributes('data-kind'))
    const right = wrapper.findAll('[data-test="diff-right"]').map((l) => l.attributes('data-kind'))
    expect(left).toEqual(['context', 'del'])
    expect(right).toEqual(['context', 'add'])
    wrapper.unmount()
  })

  it('backs up now and polls until the new result has finished', async () => {
    let rows = [result(1)]
    const requests = handler(() => rows)
    const { wrapper } = await mountPage(DevicePage, { id: 7, pollMs: 20 })
    await settle()
    await wrapper.get('[data-test="backup-now"]').trigger('click')
    await settle()
    expect(requests.filter((r) => r.method === 'POST').map((r) => r.url.pathname)).toEqual(['/api/devices/7/backup-now/'])
    expect(document.body.textContent).toContain('Backup of core-rtr-1 enqueued (1).')
    // The new manual result appears queued, then finishes.
    rows = [result(9, { manual: true, schedule: null as never, status: 'queued', started_at: null, finished_at: null }), result(1)]
    await vi.waitFor(() => expect(wrapper.find('[data-result-id="9"]').exists()).toBe(true), { timeout: 2000 })
    expect(wrapper.find('[data-test="backup-waiting"]').exists()).toBe(true)
    rows = [result(9, { manual: true, schedule: null as never, status: 'success' }), result(1)]
    await vi.waitFor(() => expect(wrapper.find('[data-test="backup-waiting"]').exists()).toBe(false), { timeout: 2000 })
    expect(wrapper.get('[data-result-id="9"]').attributes('data-status')).toBe('success')
    expect(wrapper.find('[data-result-id="9"] [data-test="result-manual"]').exists()).toBe(true)
    expect(document.body.textContent).toContain('Backup of core-rtr-1: success')
    wrapper.unmount()
  })

  it('offers "Back up now" only to users with change rights', async () => {
    handler(() => [])
    const { wrapper } = await mountPage(DevicePage, { id: 7 }, VIEWER_SESSION)
    await settle()
    expect(wrapper.find('[data-test="device-name"]').exists()).toBe(true)
    expect(wrapper.find('[data-test="backup-now"]').exists()).toBe(false)
    wrapper.unmount()
  })

  it('says so when the device is not found', async () => {
    stubFetch(() => ({ status: 404, body: { detail: 'Not found.' } }))
    const { wrapper } = await mountPage(DevicePage, { id: 7 })
    await settle()
    expect(wrapper.get('[data-test="device-page-error"]').text()).toContain('Device not found.')
    wrapper.unmount()
  })
})
