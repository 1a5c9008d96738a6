/** Router factory: history mode at "/", login guard, and the API client's 401/403 hook. */

import { createRouter, createWebHistory, type Router, type RouterHistory } from 'vue-router'

import { setAuthFailureHandler } from '../api/client'
import { ensureSession } from '../composables/useSession'
import { safeNextPath } from '../utils/safeRedirect'
import routes from './routes'

/**
 * History base is "/" on purpose: Vite's `base` is `/static/` (where the built
 * assets live) but the pages themselves are served at `/devices` etc.
 */
export function createAppRouter(history: RouterHistory = createWebHistory('/')): Router {
  const router = createRouter({
    history,
    routes,
    scrollBehavior: () => ({ left: 0, top: 0 }),
  })

  router.beforeEach(async (to) => {
    const session = await ensureSession()
    if (to.name === 'login') {
      return session.authenticated ? safeNextPath(to.query.next) : true
    }
    if (to.meta.public || session.authenticated) return true
    return { name: 'login', query: { next: to.fullPath } }
  })

  router.afterEach((to) => {
    document.title = to.meta.title ? `${to.meta.title} · DeviceVault` : 'DeviceVault'
  })

  // A 401/403 means either "logged out" (session expired) or "not allowed";
  // ask the session endpoint which one before sending the user to /login.
  setAuthFailureHandler(async () => {
    const session = await ensureSession(true)
    const current = router.currentRoute.value
    if (!session.authenticated && current.name !== 'login') {
      await router.replace({ name: 'login', query: { next: current.fullPath } })
    }
  })

  return router
}
