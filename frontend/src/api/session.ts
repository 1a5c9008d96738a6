/** `/api/auth/session/`: who is logged in, login and logout (Django session + CSRF cookie). */

import { apiRequest } from './client'

export interface SessionUser {
  id: number
  username: string
  is_staff: boolean
  is_superuser: boolean
  can_change_devices: boolean
}

export interface Session {
  authenticated: boolean
  user: SessionUser | null
  /** IANA zone every date and time on the pages is shown in. */
  display_timezone: string
}

const SESSION_URL = '/api/auth/session/'

/** Always 200; also sets the `csrftoken` cookie needed by the unsafe methods. */
export function fetchSession(): Promise<Session> {
  return apiRequest<Session>(SESSION_URL, { skipAuthHandler: true })
}

/** 200 with the logged-in session, or `ApiError` 400 `{"detail": "Invalid username or password."}`. */
export function login(username: string, password: string): Promise<Session> {
  return apiRequest<Session>(SESSION_URL, {
    method: 'POST',
    body: { username, password },
    skipAuthHandler: true,
  })
}

/** 204. */
export async function logout(): Promise<void> {
  await apiRequest<null>(SESSION_URL, { method: 'DELETE', skipAuthHandler: true })
}
