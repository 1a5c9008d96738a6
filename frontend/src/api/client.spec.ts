import { afterEach, describe, expect, it, vi } from 'vitest'

import { api, ApiError, apiRequest, buildUrl, expandPath, readCookie, setAuthFailureHandler } from './client'
import { fetchSession } from './session'

function stub(status: number, body: unknown) {
  const fetchMock = vi.fn(
    async (..._args: unknown[]) =>
      new Response(body === null ? null : JSON.stringify(body), {
        status,
        headers: { 'Content-Type': 'application/json' },
      }),
  )
  vi.stubGlobal('fetch', fetchMock)
  return fetchMock
}

afterEach(() => {
  vi.unstubAllGlobals()
  setAuthFailureHandler(null)
  document.cookie = 'csrftoken=; expires=Thu, 01 Jan 1970 00:00:00 GMT'
})

describe('api client', () => {
  it('sends same-origin credentials and Accept, without CSRF on GET', async () => {
    document.cookie = 'csrftoken=tok123'
    const fetchMock = stub(200, { ok: 1 })
    await expect(apiRequest('/api/devices/', { query: { page: 2, search: '', ordering: undefined } })).resolves.toEqual({ ok: 1 })
    const [url, init] = fetchMock.mock.calls[0] as [string, RequestInit]
    expect(url).toBe('/api/devices/?page=2')
    expect(init.credentials).toBe('same-origin')
    expect(init.headers).toEqual({ Accept: 'application/json' })
  })

  it('sends X-CSRFToken from the csrftoken cookie and a JSON body on unsafe methods', async () => {
    document.cookie = 'other=1'
    document.cookie = 'csrftoken=tok%2F123'
    const fetchMock = stub(200, { id: 1 })
    await apiRequest('/api/devices/1/', { method: 'PATCH', body: { backup_schedule_id: null } })
    const [, init] = fetchMock.mock.calls[0] as [string, RequestInit]
    expect(init.method).toBe('PATCH')
    expect(init.headers).toMatchObject({ 'X-CSRFToken': 'tok/123', 'Content-Type': 'application/json' })
    expect(init.body).toBe('{"backup_schedule_id":null}')
  })

  it('throws ApiError with status, parsed body and per-field messages', async () => {
    stub(400, { backup_schedule_id: ['Unknown schedule.'], detail: 'Bad' })
    const error = await apiRequest('/api/devices/1/', { method: 'PATCH', body: {} }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ApiError)
    const apiError = error as ApiError
    expect(apiError.status).toBe(400)
    expect(apiError.body).toEqual({ backup_schedule_id: ['Unknown schedule.'], detail: 'Bad' })
    expect(apiError.fieldErrors('backup_schedule_id')).toEqual(['Unknown schedule.'])
    expect(apiError.fieldErrors('other')).toEqual([])
    expect(apiError.message).toBe('Bad')
  })

  it('describes field-only errors and empty bodies', async () => {
    stub(400, { device_ids: ['Unknown devices: 7, 8.'] })
    await expect(apiRequest('/x/')).rejects.toThrow('device_ids: Unknown devices: 7, 8.')
    stub(500, null)
    await expect(apiRequest('/x/')).rejects.toThrow('Request failed (HTTP 500).')
  })

  it('returns null for 204', async () => {
    stub(204, null)
    await expect(apiRequest('/api/auth/session/', { method: 'DELETE' })).resolves.toBeNull()
  })

  it('maps network failures to status 0', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => Promise.reject(new TypeError('Failed to fetch'))))
    const error = (await apiRequest('/x/').catch((e: unknown) => e)) as ApiError
    expect(error.status).toBe(0)
    expect(error.message).toBe('Could not reach the server.')
  })

  it('calls the auth-failure handler on 401/403, but not for the session endpoint', async () => {
    const handler = vi.fn()
    setAuthFailureHandler(handler)
    stub(403, { detail: 'Authentication credentials were not provided.' })
    await expect(apiRequest('/api/devices/')).rejects.toBeInstanceOf(ApiError)
    expect(handler).toHaveBeenCalledWith(403)
    stub(401, { detail: 'nope' })
    await expect(fetchSession()).rejects.toBeInstanceOf(ApiError)
    expect(handler).toHaveBeenCalledTimes(1)
  })

  it('builds URLs and reads cookies', () => {
    expect(buildUrl('/a/', { x: 'a b', y: null, z: 0 })).toBe('/a/?x=a+b&z=0')
    expect(readCookie('csrftoken', 'a=1; csrftoken=xyz; b=2')).toBe('xyz')
    expect(readCookie('missing', 'a=1')).toBeNull()
  })

  it('fills the path parameters of a schema path, encoded, and refuses a missing one', () => {
    expect(expandPath('/api/devices/{id}/', { id: 4 })).toBe('/api/devices/4/')
    expect(expandPath('/api/devices/{device_id}/backups/{backup_id}/diff/', { device_id: 'a/b', backup_id: 2 })).toBe(
      '/api/devices/a%2Fb/backups/2/diff/',
    )
    expect(() => expandPath('/api/devices/{id}/', {})).toThrow('no value for {id}')
  })

  it('calls a schema path with its parameters, query and body', async () => {
    document.cookie = 'csrftoken=tok'
    const fetchMock = stub(200, { id: 4 })
    await api.patch('/api/devices/{id}/', { backup_schedule_id: null }, { path: { id: 4 } })
    await api.get('/api/devices/', { query: { ordering: '-next_run_at', page: 2 } })
    const [[patchUrl, patch], [getUrl]] = fetchMock.mock.calls as [string, RequestInit][]
    expect([patchUrl, patch.method, patch.body]).toEqual(['/api/devices/4/', 'PATCH', '{"backup_schedule_id":null}'])
    expect(getUrl).toBe('/api/devices/?ordering=-next_run_at&page=2')
  })
})

// Checked by `npm run typecheck` (vue-tsc), never run: the schema decides what may be called.
export function typeChecks(): void {
  // @ts-expect-error: no such path in the API
  void api.get('/api/nothing-here/')
  // @ts-expect-error: the API has no such ordering
  void api.get('/api/devices/', { query: { ordering: 'colour' } })
  // @ts-expect-error: a path with {id} needs it
  void api.get('/api/devices/{id}/')
  // @ts-expect-error: bulk-assign takes no `devices` field
  void api.post('/api/scheduled-backups/bulk-assign/', { schedule_id: 1, devices: [1] })
}
