import { describe, expect, it } from 'vitest'

import { EMPTY_FILTERS, filtersFromQuery, historyQuery, kindOf, queryFromFilters } from './resultsFilters'

describe('results filters in the URL', () => {
  it('round-trips every filter through the query', () => {
    const filters = { status: 'failed', schedule: 3, device: 7, start: '2026-11-01', end: '2026-11-09', kind: 'catchup', page: 2 } as const
    const query = queryFromFilters(filters)
    expect(query).toEqual({ status: 'failed', schedule: '3', device: '7', start: '2026-11-01', end: '2026-11-09', kind: 'catchup', page: '2' })
    expect(filtersFromQuery(query as Record<string, string>)).toEqual(filters)
  })

  it('leaves defaults out of the URL and drops malformed values', () => {
    expect(queryFromFilters(EMPTY_FILTERS)).toEqual({})
    expect(filtersFromQuery({ status: 'exploded', schedule: 'x', device: '-1', start: '1/2/2026', kind: 'other', page: '0' })).toEqual(EMPTY_FILTERS)
  })

  it('sends the API every filter but the kind', () => {
    expect(historyQuery({ ...EMPTY_FILTERS, status: 'success', kind: 'manual', page: 3 }, 25)).toEqual({
      status: 'success', schedule: undefined, device: undefined, start: undefined, end: undefined, page: 3, page_size: 25,
    })
  })

  it('tells manual, catch-up and scheduled results apart', () => {
    expect(kindOf({ manual: true, is_catchup: false })).toBe('manual')
    expect(kindOf({ manual: false, is_catchup: true })).toBe('catchup')
    expect(kindOf({ manual: false, is_catchup: false })).toBe('scheduled')
  })
})
