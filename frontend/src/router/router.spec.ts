import { afterEach, describe, expect, it, vi } from 'vitest'
import { createMemoryHistory } from 'vue-router'

import { listDevices } from '../api/devices'
import { resetSession } from '../composables/useSession'
import { STAFF_SESSION, stubFetch } from '../test/helpers'
import { createAppRouter } from './index'

const LOGGED_OUT = { authenticated: false, user: null, display_timezone: 'Australia/Sydney' }

afterEach(() => {
  vi.unstubAllGlobals()
  resetSession()
})

describe('router guard', () => {
  it('sends anonymous users to /login?next=<path>', async () => {
    resetSession()
    const requests = stubFetch(() => ({ body: LOGGED_OUT }))
    const router = createAppRouter(createMemoryHistory())
    await router.push('/vaultadmin/schedule-calendar?x=1')
    expect(router.currentRoute.value.name).toBe('login')
    expect(router.currentRoute.value.query.next).toBe('/vaultadmin/schedule-calendar?x=1')
    expect(requests[0]!.url.pathname).toBe('/api/auth/session/')
  })

  it('redirects / to /devices for a logged-in user, and /login to next', async () => {
    resetSession()
    stubFetch(() => ({ body: STAFF_SESSION }))
    const router = createAppRouter(createMemoryHistory())
    await router.push('/')
    expect(router.currentRoute.value.fullPath).toBe('/devices')
    await router.push('/login?next=/devices/4/edit')
    expect(router.currentRoute.value.fullPath).toBe('/devices/4/edit')
    await router.push('/login?next=//evil.example')
    expect(router.currentRoute.value.fullPath).toBe('/devices')
  })

  it('goes to login when an API call fails because the session expired', async () => {
    resetSession()
    let loggedIn = true
    stubFetch(({ url }) => {
      if (url.pathname === '/api/auth/session/') return { body: loggedIn ? STAFF_SESSION : LOGGED_OUT }
      return { status: 403, body: { detail: 'Authentication credentials were not provided.' } }
    })
    const router = createAppRouter(createMemoryHistory())
    await router.push('/devices?page=2')
    expect(router.currentRoute.value.name).toBe('devices')

    loggedIn = false
    await expect(listDevices()).rejects.toMatchObject({ status: 403 })
    expect(router.currentRoute.value.name).toBe('login')
    expect(router.currentRoute.value.query.next).toBe('/devices?page=2')
  })

  it('stays put on a 403 for a logged-in user without permission', async () => {
    resetSession()
    stubFetch(({ url }) => {
      if (url.pathname === '/api/auth/session/') return { body: STAFF_SESSION }
      return { status: 403, body: { detail: 'You do not have permission to perform this action.' } }
    })
    const router = createAppRouter(createMemoryHistory())
    await router.push('/devices')
    await expect(listDevices()).rejects.toMatchObject({ status: 403 })
    expect(router.currentRoute.value.name).toBe('devices')
  })
})
