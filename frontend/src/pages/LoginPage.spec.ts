import { afterEach, describe, expect, it, vi } from 'vitest'

import { useSession } from '../composables/useSession'
import { mountPage, settle, STAFF_SESSION, stubFetch } from '../test/helpers'
import LoginPage from './LoginPage.vue'

const LOGGED_OUT = { authenticated: false, user: null, display_timezone: 'Australia/Sydney' }

afterEach(() => {
  vi.unstubAllGlobals()
})

describe('LoginPage', () => {
  it('shows the error for bad credentials, then logs in and follows next', async () => {
    document.cookie = 'csrftoken=c1'
    let good = false
    const requests = stubFetch(() =>
      good ? { body: STAFF_SESSION } : { status: 400, body: { detail: 'Invalid username or password.' } },
    )
    const { wrapper, router } = await mountPage(LoginPage, {}, LOGGED_OUT)
    await router.push('/login?next=/vaultadmin/schedule-calendar')

    await wrapper.get('input[data-test="login-username"]').setValue('alice')
    await wrapper.get('input[data-test="login-password"]').setValue('wrong')
    await wrapper.get('form').trigger('submit')
    await settle()
    expect(requests[0]!.method).toBe('POST')
    expect(requests[0]!.url.pathname).toBe('/api/auth/session/')
    expect(requests[0]!.body).toEqual({ username: 'alice', password: 'wrong' })
    expect(requests[0]!.headers['X-CSRFToken']).toBe('c1')
    expect(wrapper.get('[data-test="login-error"]').text()).toContain('Invalid username or password.')

    good = true
    await wrapper.get('input[data-test="login-password"]').setValue('right')
    await wrapper.get('form').trigger('submit')
    await settle()
    expect(wrapper.find('[data-test="login-error"]').exists()).toBe(false)
    expect(router.currentRoute.value.fullPath).toBe('/vaultadmin/schedule-calendar')
    expect(useSession().user.value?.username).toBe('alice')
    wrapper.unmount()
  })

  it('shows the lockout message when the server refuses the username for a while (429)', async () => {
    document.cookie = 'csrftoken=c1'
    const detail = 'Too many failed logins for this username: try again in 15 minutes.'
    stubFetch(() => ({ status: 429, body: { detail } }))
    const { wrapper } = await mountPage(LoginPage, {}, LOGGED_OUT)
    await wrapper.get('input[data-test="login-username"]').setValue('alice')
    await wrapper.get('input[data-test="login-password"]').setValue('right')
    await wrapper.get('form').trigger('submit')
    await settle()
    expect(wrapper.get('[data-test="login-error"]').text()).toContain(detail)
    wrapper.unmount()
  })
})
