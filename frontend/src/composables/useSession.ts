/** The logged-in session shared by the whole app (user, permissions, display time zone). */

import { computed, readonly, ref } from 'vue'

import { fetchSession, login, logout, type Session } from '../api/session'
import { isValidTimeZone } from '../utils/time'

/** Used until the server has told us its zone (and if it names one the browser does not know). */
export const FALLBACK_TIME_ZONE = 'UTC'

const LOGGED_OUT: Session = { authenticated: false, user: null, display_timezone: FALLBACK_TIME_ZONE }

const session = ref<Session>({ ...LOGGED_OUT })
const loaded = ref(false)
const loadError = ref<string | null>(null)
let pending: Promise<Session> | null = null

function apply(next: Session): Session {
  session.value = {
    authenticated: Boolean(next.authenticated && next.user),
    user: next.user ?? null,
    display_timezone: next.display_timezone || session.value.display_timezone || FALLBACK_TIME_ZONE,
  }
  loaded.value = true
  loadError.value = null
  return session.value
}

/** Load the session once (or again with `force`); a failed load counts as logged out. */
export function ensureSession(force = false): Promise<Session> {
  if (loaded.value && !force) return Promise.resolve(session.value)
  if (!pending) {
    pending = fetchSession()
      .then(apply)
      .catch((error: unknown) => {
        session.value = { ...LOGGED_OUT, display_timezone: session.value.display_timezone }
        loaded.value = true
        loadError.value = error instanceof Error ? error.message : String(error)
        return session.value
      })
      .finally(() => {
        pending = null
      })
  }
  return pending
}

export async function signIn(username: string, password: string): Promise<Session> {
  return apply(await login(username, password))
}

export async function signOut(): Promise<void> {
  try {
    await logout()
  } finally {
    apply({ ...LOGGED_OUT, display_timezone: session.value.display_timezone })
  }
}

/** For tests: forget everything. */
export function resetSession(value?: Session): void {
  session.value = value ? { ...value } : { ...LOGGED_OUT }
  loaded.value = Boolean(value)
  loadError.value = null
  pending = null
}

export function useSession() {
  const user = computed(() => session.value.user)
  const displayTimeZone = computed(() => {
    const zone = session.value.display_timezone
    return zone && isValidTimeZone(zone) ? zone : FALLBACK_TIME_ZONE
  })
  return {
    session: readonly(session),
    loaded: readonly(loaded),
    loadError: readonly(loadError),
    user,
    isAuthenticated: computed(() => session.value.authenticated),
    isStaff: computed(() => Boolean(user.value?.is_staff)),
    canChangeDevices: computed(() => Boolean(user.value?.can_change_devices)),
    displayTimeZone,
    ensureSession,
    signIn,
    signOut,
  }
}
