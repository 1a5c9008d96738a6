/** The one HTTP client of the app: same-origin fetch with the Django session, CSRF and typed errors. */

/** JSON body of an error response; DRF sends `{"detail": ...}` or `{"field": ["message", ...]}`. */
export type ApiErrorBody = Record<string, unknown> | unknown[] | string | null

/** A non-2xx answer (or a network failure, with `status` 0). */
export class ApiError extends Error {
  readonly status: number
  readonly body: ApiErrorBody

  constructor(status: number, body: ApiErrorBody, message?: string) {
    super(message ?? ApiError.describe(status, body))
    this.name = 'ApiError'
    this.status = status
    this.body = body
  }

  /** The messages the server gave for one field (`[]` when none). */
  fieldErrors(field: string): string[] {
    if (!this.body || typeof this.body !== 'object' || Array.isArray(this.body)) return []
    return toMessages((this.body as Record<string, unknown>)[field])
  }

  private static describe(status: number, body: ApiErrorBody): string {
    if (status === 0) return 'Could not reach the server.'
    if (typeof body === 'string' && body.trim() && body.length < 300) return body.trim()
    if (Array.isArray(body)) {
      const messages = toMessages(body)
      if (messages.length) return messages.join(' ')
    } else if (body && typeof body === 'object') {
      const record = body as Record<string, unknown>
      const detail = toMessages(record.detail ?? record.non_field_errors)
      if (detail.length) return detail.join(' ')
      const fields = Object.entries(record)
        .map(([field, value]) => {
          const messages = toMessages(value)
          return messages.length ? `${field}: ${messages.join(' ')}` : ''
        })
        .filter(Boolean)
      if (fields.length) return fields.join('; ')
    }
    if (status === 401 || status === 403) return 'You are not allowed to do that.'
    if (status === 404) return 'Not found.'
    return `Request failed (HTTP ${status}).`
  }
}

function toMessages(value: unknown): string[] {
  if (value == null) return []
  if (typeof value === 'string') return [value]
  if (Array.isArray(value)) return value.flatMap(toMessages)
  if (typeof value === 'object') return Object.values(value as Record<string, unknown>).flatMap(toMessages)
  return [String(value)]
}

/** True for an `ApiError` (helps in `catch (e: unknown)` blocks). */
export function isApiError(error: unknown): error is ApiError {
  return error instanceof ApiError
}

/** A message for any thrown value. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message
  return String(error)
}

/** Value of a cookie, or null. */
export function readCookie(name: string, cookieString: string = document.cookie): string | null {
  for (const pair of cookieString.split(';')) {
    const index = pair.indexOf('=')
    if (index < 0) continue
    if (pair.slice(0, index).trim() === name) {
      return decodeURIComponent(pair.slice(index + 1).trim())
    }
  }
  return null
}

export const CSRF_COOKIE = 'csrftoken'
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE'])

export type QueryValue = string | number | boolean | null | undefined
export type Query = Record<string, QueryValue>

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'
  query?: Query
  /** Sent as JSON. */
  body?: unknown
  signal?: AbortSignal
  /** Do not call the auth-failure handler for a 401/403 (used by the session endpoint itself). */
  skipAuthHandler?: boolean
}

/**
 * Called on 401/403 from any endpoint but the session one. The router installs
 * one that re-checks the session and goes to `/login?next=...` if the user is
 * logged out; a 403 for a logged-in user (no permission) is left to the page.
 */
export type AuthFailureHandler = (status: number) => void | Promise<void>

let authFailureHandler: AuthFailureHandler | null = null

export function setAuthFailureHandler(handler: AuthFailureHandler | null): void {
  authFailureHandler = handler
}

/** `path?query`, leaving out null/undefined/empty values. */
export function buildUrl(path: string, query?: Query): string {
  if (!query) return path
  const params = new URLSearchParams()
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null || value === '') continue
    params.append(key, String(value))
  }
  const search = params.toString()
  return search ? `${path}${path.includes('?') ? '&' : '?'}${search}` : path
}

async function parseBody(response: Response): Promise<unknown> {
  if (response.status === 204 || response.status === 205) return null
  const text = await response.text()
  if (!text) return null
  const type = response.headers.get('content-type') ?? ''
  if (type.includes('json')) {
    try {
      return JSON.parse(text)
    } catch {
      return text
    }
  }
  return text
}

/** Send one request; resolves with the parsed JSON (null for 204), throws `ApiError` otherwise. */
export async function apiRequest<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const method = options.method ?? 'GET'
  const headers: Record<string, string> = { Accept: 'application/json' }
  if (options.body !== undefined) headers['Content-Type'] = 'application/json'
  if (!SAFE_METHODS.has(method)) {
    const token = readCookie(CSRF_COOKIE)
    if (token) headers['X-CSRFToken'] = token
  }

  let response: Response
  try {
    response = await fetch(buildUrl(path, options.query), {
      method,
      headers,
      credentials: 'same-origin',
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: options.signal,
    })
  } catch (error) {
    if (error instanceof DOMException && error.name === 'AbortError') throw error
    throw new ApiError(0, null)
  }

  const body = await parseBody(response)
  if (response.ok) return body as T

  const error = new ApiError(response.status, body as ApiErrorBody)
  if ((response.status === 401 || response.status === 403) && !options.skipAuthHandler && authFailureHandler) {
    await authFailureHandler(response.status)
  }
  throw error
}

export const api = {
  get: <T>(path: string, query?: Query, signal?: AbortSignal) => apiRequest<T>(path, { query, signal }),
  post: <T>(path: string, body?: unknown) => apiRequest<T>(path, { method: 'POST', body }),
  patch: <T>(path: string, body?: unknown) => apiRequest<T>(path, { method: 'PATCH', body }),
  delete: <T>(path: string) => apiRequest<T>(path, { method: 'DELETE' }),
}

/** DRF page envelope. */
export interface Paginated<T> {
  count: number
  next: string | null
  previous: string | null
  results: T[]
}
