import { flushPromises, mount } from '@vue/test-utils'
import { Quasar } from 'quasar'
import { afterEach, describe, expect, it, vi } from 'vitest'

import { resetSession } from '../composables/useSession'
import { makeRouter, settle, STAFF_SESSION, stubFetch, VIEWER_SESSION } from '../test/helpers'
import MainLayout from './MainLayout.vue'

async function mountLayout(session = STAFF_SESSION) {
  resetSession(session)
  const router = makeRouter()
  await router.push('/devices')
  await router.isReady()
  const wrapper = mount(MainLayout, { attachTo: document.body, global: { plugins: [[Quasar, {}], router] } })
  await flushPromises()
  return { wrapper, router }
}

afterEach(() => {
  vi.unstubAllGlobals()
})

describe('MainLayout', () => {
  it('shows navigation, the user and the Admin link for staff', async () => {
    const { wrapper } = await mountLayout()
    expect(wrapper.get('[data-test="current-user"]').text()).toBe('alice')
    expect(wrapper.get('[data-test="nav-devices"]').attributes('href')).toBe('/devices')
    expect(wrapper.get('[data-test="nav-calendar"]').attributes('href')).toBe('/vaultadmin/schedule-calendar')
    expect(wrapper.get('[data-test="nav-schedules"]').attributes('href')).toBe('/schedules')
    expect(wrapper.get('[data-test="nav-alerts"]').attributes('href')).toBe('/alerts')
    expect(wrapper.get('[data-test="nav-admin"]').attributes('href')).toBe('/admin/')
    wrapper.unmount()
  })

  it('hides Admin for non-staff and logs out with DELETE', async () => {
    const requests = stubFetch(() => ({ status: 204 }))
    const { wrapper, router } = await mountLayout(VIEWER_SESSION)
    expect(wrapper.find('[data-test="nav-admin"]').exists()).toBe(false)
    await wrapper.get('[data-test="logout"]').trigger('click')
    await settle()
    expect(requests[0]!.method).toBe('DELETE')
    expect(requests[0]!.url.pathname).toBe('/api/auth/session/')
    expect(router.currentRoute.value.name).toBe('login')
    wrapper.unmount()
  })
})
