/** Validation of the `?next=` target after login, so it cannot send the user off-site. */

export const DEFAULT_AFTER_LOGIN = '/devices'

/** `next` when it is a same-origin absolute path (not `//host`, not the login page), else `/devices`. */
export function safeNextPath(next: unknown): string {
  const value = Array.isArray(next) ? next[0] : next
  if (typeof value !== 'string' || !value.startsWith('/') || value.startsWith('//') || value.includes('\\')) {
    return DEFAULT_AFTER_LOGIN
  }
  if (value === '/login' || value.startsWith('/login?') || value.startsWith('/login/')) {
    return DEFAULT_AFTER_LOGIN
  }
  return value
}
