/** App entry: Vue + Quasar (Notify) + router. */

import '@quasar/extras/roboto-font/roboto-font.css'
import '@quasar/extras/material-icons/material-icons.css'
import 'quasar/dist/quasar.css'
import './css/app.css'

import { Notify, Quasar } from 'quasar'
import { createApp } from 'vue'

import App from './App.vue'
import { createAppRouter } from './router'

const app = createApp(App)
app.use(Quasar, {
  plugins: { Notify },
  config: {
    notify: { position: 'top-right', timeout: 4000 },
  },
})
app.use(createAppRouter())
app.mount('#app')
