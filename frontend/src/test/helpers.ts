/** Component-test helpers: Quasar installed, a layout around pages, a stubbed same-origin fetch. */

import { flushPromises, mount } from '@vue/test-utils'
import { Notify, QLayout, QPageContainer, Quasar } from 'quasar'
import { vi } from 'vitest'
import { type Component, defineComponent, h } from 'vue'
import { createMemoryHistory, createRouter, type RouteRecordRaw, type Router } from 'vue-router'

import { resetSession } from '../composables/useSession'
import routes from '../router/routes'
import type { Session } from '../api/session'

export const STAFF_SESSION: Session = {
  authenticated: true,
  user: { id: 1, username: 'alice', is_staff: true, is_superuser: false, can_change_devices: true },
  display_timezone: 'Australia/Sydney',
}

export const VIEWER_SESSION: Session = {
  authenticated: true,
  user: { id: 2, username: 'bob', is_staff: false, is_superuser: false, can_change_devices: false },
  display_timezone: 'Australia/Sydney',
}

export interface RecordedRequest {
  method: string
  url: URL
  headers: Record<string, string>
  body: unknown
}

export type FakeResponse = { status?: number; body?: unknown }
export type FakeHandler = (request: RecordedRequest) => FakeResponse | Promise<FakeResponse>

/** Replace `fetch` with `handler`; returns the list of requests seen. */
export function stubFetch(handler: FakeHandler): RecordedRequest[] {
  const requests: RecordedRequest[] = []
  vi.stubGlobal(
    'fetch',
    vi.fn(async (input: string, init: RequestInit = {}) => {
      const request: RecordedRequest = {
        method: init.method ?? 'GET',
        url: new URL(input, 'http://testserver'),
        headers: (init.headers ?? {}) as Record<string, string>,
        body: typeof init.body === 'string' ? JSON.parse(init.body) : undefined,
      }
      requests.push(request)
      const { status = 200, body } = await handler(request)
      return new Response(status === 204 || body === undefined ? null : JSON.stringify(body), {
        status,
        headers: { 'Content-Type': 'application/json' },
      })
    }),
  )
  return requests
}

/**
 * The app's own route list (src/router/routes.ts, the only copy) with every page and layout
 * a stub, and without the redirect from `/`, which stays a plain start page for the tests.
 */
export function makeRouter(): Router {
  const stub = defineComponent({ render: () => h('div') })
  const stubbed = (records: readonly RouteRecordRaw[]): RouteRecordRaw[] =>
    records
      .filter((record) => !('redirect' in record && record.redirect))
      .map((record) => {
        const copy = { ...record, component: stub } as RouteRecordRaw
        if (record.children) copy.children = stubbed(record.children)
        return copy
      })
  return createRouter({ history: createMemoryHistory(), routes: stubbed(routes) })
}

/** Mount a `*Page` inside QLayout/QPageContainer (QPage needs both) with Quasar and a router. */
export async function mountPage(page: Component, props: Record<string, unknown> = {}, session: Session = STAFF_SESSION) {
  resetSession(session)
  const router = makeRouter()
  await router.push('/')
  await router.isReady()
  const Host = defineComponent({
    render: () => h(QLayout, { view: 'hHh lpR fFf' }, () => h(QPageContainer, () => h(page, props))),
  })
  const wrapper = mount(Host, {
    attachTo: document.body,
    global: { plugins: [[Quasar, { plugins: { Notify } }], router] },
  })
  await flushPromises()
  return { wrapper, router }
}

/** Let fetches resolve and Vue re-render. */
export async function settle(): Promise<void> {
  await flushPromises()
  await new Promise((resolve) => setTimeout(resolve, 0))
  await flushPromises()
}
