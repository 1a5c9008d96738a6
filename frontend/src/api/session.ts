/** `/api/auth/session/`: who is logged in, login and logout (Django session + CSRF cookie). */

import { api } from './client'
import type { components } from './schema'

export type SessionUser = components['schemas']['SessionUser']
/** Who is logged in, and the IANA zone every date and time on the pages is shown in. */
export type Session = components['schemas']['Session']

// The session endpoint answers for itself: its 401/403 must not trigger the re-check.
const OWN_ERRORS = { skipAuthHandler: true } as const

/** Always 200; also sets the `csrftoken` cookie needed by the unsafe methods. */
export function fetchSession(): Promise<Session> {
  return api.get('/api/auth/session/', OWN_ERRORS)
}

/** 200 with the logged-in session, or `ApiError` 400 `{"detail": "Invalid username or password."}`. */
export function login(username: string, password: string): Promise<Session> {
  return api.post('/api/auth/session/', { username, password }, OWN_ERRORS)
}

/** 204. */
export async function logout(): Promise<void> {
  await api.delete('/api/auth/session/', OWN_ERRORS)
}
