/** The one HTTP client of the app: same-origin fetch with the Django session, CSRF and typed errors. */

import type { paths } from './schema'

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

// -- typed calls, checked against the API's schema (./schema.d.ts, generated) --------------

type Method = 'get' | 'post' | 'put' | 'patch' | 'delete'

/** The API's paths (`/api/devices/{id}/`, ...) that answer `M`. */
export type PathWith<M extends Method> = {
  [P in keyof paths]: paths[P] extends Record<M, object> ? P : never
}[keyof paths]

type Operation<P extends keyof paths, M extends Method> = NonNullable<paths[P][M]>
type Parameters_<P extends keyof paths, M extends Method> =
  Operation<P, M> extends { parameters: infer X } ? X : never
type JsonBody<C> = C extends { content: { 'application/json': infer B } } ? B : null

/** The `{name}` parameters of a path, or never. */
export type PathParams<P extends keyof paths, M extends Method> =
  Parameters_<P, M> extends { path: infer X } ? X : never
/** The query parameters an operation takes. */
export type QueryParams<P extends keyof paths, M extends Method> =
  Parameters_<P, M> extends { query?: infer X } ? NonNullable<X> : never
/** The JSON body of an operation's request. */
export type RequestBody<P extends keyof paths, M extends Method> = JsonBody<NonNullable<Operation<P, M>['requestBody']>>
/** The JSON body of an operation's success answer (null for 204). */
export type ResponseBody<P extends keyof paths, M extends Method> = JsonBody<
  Operation<P, M>['responses'][Extract<keyof Operation<P, M>['responses'], 200 | 201 | 202 | 204>]
>

type CallOptions<P extends keyof paths, M extends Method> = {
  query?: QueryParams<P, M>
  signal?: AbortSignal
  skipAuthHandler?: boolean
} & ([PathParams<P, M>] extends [never] ? { path?: undefined } : { path: PathParams<P, M> })

/** The options argument: required when the path has `{parameters}`. */
type OptionsArg<P extends keyof paths, M extends Method> = [PathParams<P, M>] extends [never]
  ? [options?: CallOptions<P, M>]
  : [options: CallOptions<P, M>]

/** `/api/devices/{id}/` with `{id: 4}` → `/api/devices/4/`. */
export function expandPath(template: string, params: Record<string, string | number> = {}): string {
  return template.replace(/\{(\w+)\}/g, (_, name: string) => {
    const value = params[name]
    if (value === undefined) throw new Error(`${template}: no value for {${name}}`)
    return encodeURIComponent(String(value))
  })
}

function call<P extends keyof paths, M extends Method>(
  method: M,
  path: P,
  body: unknown,
  options: CallOptions<P, M> | undefined,
): Promise<ResponseBody<P, M>> {
  return apiRequest<ResponseBody<P, M>>(expandPath(path, options?.path as Record<string, string | number>), {
    method: method.toUpperCase() as RequestOptions['method'],
    query: options?.query as Query | undefined,
    body,
    signal: options?.signal,
    skipAuthHandler: options?.skipAuthHandler,
  })
}

/**
 * One function per HTTP method, typed by the schema: the path must be one the API has for
 * that method, and the query, body and answer are the schema's.
 */
export const api = {
  get: <P extends PathWith<'get'>>(path: P, ...[options]: OptionsArg<P, 'get'>) =>
    call('get', path, undefined, options),
  post: <P extends PathWith<'post'>>(path: P, body: RequestBody<P, 'post'>, ...[options]: OptionsArg<P, 'post'>) =>
    call('post', path, body, options),
  patch: <P extends PathWith<'patch'>>(path: P, body: RequestBody<P, 'patch'>, ...[options]: OptionsArg<P, 'patch'>) =>
    call('patch', path, body, options),
  delete: <P extends PathWith<'delete'>>(path: P, ...[options]: OptionsArg<P, 'delete'>) =>
    call('delete', path, undefined, options),
}
