/**
 * The SPA routes (history mode). This list is the app's own and stays here: the router needs
 * it, and the API cannot supply it. Django serves index.html for each of these paths
 * (`project/urls.py`, the `spa` pattern), so a new page is added there too; the tests'
 * router (src/test/helpers.ts) is built from this list rather than a copy of it.
 */

import type { RouteRecordRaw } from 'vue-router'

declare module 'vue-router' {
  interface RouteMeta {
    /** Reachable without being logged in. */
    public?: boolean
    title?: string
  }
}

const routes: RouteRecordRaw[] = [
  {
    path: '/login',
    component: () => import('../layouts/AuthLayout.vue'),
    meta: { public: true },
    children: [
      { path: '', name: 'login', component: () => import('../pages/LoginPage.vue'), meta: { public: true, title: 'Log in' } },
    ],
  },
  {
    path: '/',
    component: () => import('../layouts/MainLayout.vue'),
    children: [
      { path: '', redirect: { name: 'devices' } },
      {
        path: 'devices',
        name: 'devices',
        component: () => import('../pages/DevicesPage.vue'),
        meta: { title: 'Devices' },
      },
      {
        path: 'devices/:id(\\d+)',
        name: 'device',
        component: () => import('../pages/DevicePage.vue'),
        props: (route) => ({ id: Number(route.params.id) }),
        meta: { title: 'Device' },
      },
      {
        path: 'devices/:id(\\d+)/edit',
        name: 'device-edit',
        component: () => import('../pages/DeviceEditPage.vue'),
        props: (route) => ({ id: Number(route.params.id) }),
        meta: { title: 'Edit device' },
      },
      {
        path: 'vaultadmin/schedule-calendar',
        name: 'schedule-calendar',
        component: () => import('../pages/ScheduleCalendarPage.vue'),
        meta: { title: 'Schedule Calendar' },
      },
      {
        path: 'schedules',
        name: 'schedules',
        component: () => import('../pages/SchedulesPage.vue'),
        meta: { title: 'Schedules' },
      },
      {
        path: 'results',
        name: 'results',
        component: () => import('../pages/ResultsPage.vue'),
        meta: { title: 'Results' },
      },
      {
        path: 'analytics',
        name: 'analytics',
        component: () => import('../pages/AnalyticsPage.vue'),
        meta: { title: 'Analytics' },
      },
      {
        path: 'alerts',
        name: 'alerts',
        component: () => import('../pages/AlertsPage.vue'),
        meta: { title: 'Alerts' },
      },
    ],
  },
  {
    path: '/:catchAll(.*)*',
    name: 'not-found',
    component: () => import('../pages/ErrorNotFoundPage.vue'),
    meta: { public: true, title: 'Not found' },
  },
]

export default routes
