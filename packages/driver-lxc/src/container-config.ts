import { ComputeError, type VifInfo } from '@novum/core'

/** A NIC of a container: a veth pair whose host end joins `bridge`. */
export interface LxcVif {
  /** The port id (Neutron's); the host end is named `tap` + its first 11 characters, as Nova names taps. */
  readonly id: string
  /** The guest MAC address. */
  readonly address: string
  /** The host bridge the host end joins. The deployment (or the test) owns the bridge; the driver never creates one. */
  readonly bridge: string
  /** MTU of both ends, if set. */
  readonly mtu?: number
}

/** What {@link buildContainerConfig} needs. */
export interface ContainerConfigInput {
  /** The container's directory (`<lxcpath>/<name>`). */
  readonly containerDir: string
  /** The guest's hostname (`lxc.uts.name`); sanitised to a DNS label. */
  readonly hostname: string
  /** `image`: the driver fills `<containerDir>/rootfs` from a tarball; `template`: an LXC template writes it. */
  readonly mode: 'image' | 'template'
  /** NICs; none gives `lxc.net.0.type = empty` (no network at all). */
  readonly vifs: readonly LxcVif[]
  /** cgroup lines, from {@link cgroupLimitLines}. */
  readonly cgroupLines: readonly string[]
  /** Where the console is logged (`lxc.console.logfile`). */
  readonly consoleLogFile: string
  /** Files to `lxc.include` in image mode (LXC's common.conf: capabilities, devices, seccomp). */
  readonly includes?: readonly string[]
  /** `lxc.signal.halt` in image mode (LXC's default is SIGPWR). */
  readonly haltSignal?: string
  /** `lxc.signal.reboot` in image mode (LXC's default is SIGINT). */
  readonly rebootSignal?: string
  /** `lxc.init.cmd` in image mode (LXC's default is /sbin/init). */
  readonly initCmd?: string
  /** Extra raw lines, appended last (a deployment's own settings). */
  readonly extraLines?: readonly string[]
}

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i
const IFNAME = /^[A-Za-z0-9_.:-]{1,15}$/
const SIGNAL = /^(SIG)?[A-Z0-9+]+$/

/** A DNS label from a free-form hostname: lower case, `[a-z0-9-]`, at most 63 characters, never empty. */
export function sanitiseHostname(hostname: string): string {
  const label = hostname
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63)
    .replace(/-+$/g, '')
  return label.length > 0 ? label : 'novum'
}

const assertValue = (key: string, value: string): string => {
  if (/[\r\n\0]/.test(value)) throw new ComputeError('INVALID', `lxc config value of ${key} must be one line: ${JSON.stringify(value)}`)
  return value
}

/** The host end of a vif's veth pair (`tap` + 11 characters of the port id, as Nova's taps). */
export function vethHostName(vif: Pick<LxcVif, 'id'>): string {
  return `tap${vif.id.replace(/[^A-Za-z0-9-]/g, '').slice(0, 11)}`
}

/**
 * Turns the compute manager's network info into {@link LxcVif}s: each vif needs a MAC and a bridge (its own
 * `bridge`, or `defaultBridge`). Throws `ComputeError('INVALID')` for a vif that has neither, or a malformed value.
 */
export function vifsFromNetworkInfo(networkInfo: readonly VifInfo[] | undefined, defaultBridge: string | undefined): LxcVif[] {
  return (networkInfo ?? []).map((vif) => {
    const bridge = vif.bridge ?? defaultBridge
    if (!bridge) throw new ComputeError('INVALID', `vif ${vif.id} has no bridge and the LXC driver has no default bridge configured`, { details: { vifId: vif.id } })
    const mtu = typeof vif.details?.['mtu'] === 'number' ? (vif.details['mtu'] as number) : undefined
    return { id: vif.id, address: vif.address, bridge, ...(mtu !== undefined ? { mtu } : {}) }
  })
}

function netLines(vifs: readonly LxcVif[]): string[] {
  if (vifs.length === 0) return ['lxc.net.0.type = empty']
  return vifs.flatMap((vif, i) => {
    if (!MAC.test(vif.address)) throw new ComputeError('INVALID', `vif ${vif.id} has an invalid MAC address "${vif.address}"`)
    if (!IFNAME.test(vif.bridge)) throw new ComputeError('INVALID', `vif ${vif.id} names an invalid bridge "${vif.bridge}"`)
    return [
      `lxc.net.${i}.type = veth`,
      `lxc.net.${i}.link = ${vif.bridge}`,
      `lxc.net.${i}.flags = up`,
      `lxc.net.${i}.hwaddr = ${vif.address.toLowerCase()}`,
      `lxc.net.${i}.name = eth${i}`,
      `lxc.net.${i}.veth.pair = ${vethHostName(vif)}`,
      ...(vif.mtu !== undefined ? [`lxc.net.${i}.mtu = ${Math.trunc(vif.mtu)}`] : []),
    ]
  })
}

/**
 * The config lines Novum gives a new container (the `-f` file of `lxc-create`). In image mode they are the whole
 * config: LXC's common.conf, the rootfs directory, `/dev` from autodev, the halt/reboot signals and init command.
 * In template mode the template adds its own lines after these. Both get the hostname, the network (none, or veths
 * on existing bridges: never LXC's NAT bridge), the console log file, the cgroup limits and any extra lines.
 *
 * Throws `ComputeError('INVALID')` for a value that would break the config (a newline, a bad MAC or bridge name).
 */
export function buildContainerConfig(input: ContainerConfigInput): string {
  const lines: string[] = ['# written by @novum/driver-lxc']
  if (input.mode === 'image') {
    for (const file of input.includes ?? []) lines.push(`lxc.include = ${assertValue('lxc.include', file)}`)
    lines.push(`lxc.rootfs.path = dir:${assertValue('lxc.rootfs.path', `${input.containerDir}/rootfs`)}`, 'lxc.autodev = 1')
    if (input.haltSignal) {
      if (!SIGNAL.test(input.haltSignal)) throw new ComputeError('INVALID', `invalid halt signal "${input.haltSignal}"`)
      lines.push(`lxc.signal.halt = ${input.haltSignal}`)
    }
    if (input.rebootSignal) {
      if (!SIGNAL.test(input.rebootSignal)) throw new ComputeError('INVALID', `invalid reboot signal "${input.rebootSignal}"`)
      lines.push(`lxc.signal.reboot = ${input.rebootSignal}`)
    }
    if (input.initCmd) lines.push(`lxc.init.cmd = ${assertValue('lxc.init.cmd', input.initCmd)}`)
  }
  lines.push(`lxc.uts.name = ${sanitiseHostname(input.hostname)}`)
  lines.push(...netLines(input.vifs))
  lines.push(`lxc.console.logfile = ${assertValue('lxc.console.logfile', input.consoleLogFile)}`)
  for (const line of input.cgroupLines) lines.push(assertValue('cgroup', line))
  for (const line of input.extraLines ?? []) lines.push(assertValue('extra', line))
  return `${lines.join('\n')}\n`
}
