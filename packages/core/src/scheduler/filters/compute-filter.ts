import { defineFilter, pass, reject } from '../filter.js'

/**
 * Passes hosts whose compute service is enabled, not forced down, and up (a heartbeat within the service-down
 * time), as Nova's `ComputeFilter`. Runs once per request.
 */
export const ComputeFilter = defineFilter({
  name: 'ComputeFilter',
  runOncePerRequest: true,
  filter(host) {
    const service = host.service
    if (service.disabled) return reject(service.disabledReason ? `disabled (${service.disabledReason})` : 'disabled')
    if (service.forcedDown) return reject('forced down')
    if (!service.up) return reject('down (no recent heartbeat)')
    return pass()
  },
})
