/**
 * The VirtDriver conformance suite on real LXC containers, twice: with the root filesystem from an image (a busybox
 * rootfs tarball through the image source; 20 containers in the concurrency test) and from the busybox template.
 */
import { afterAll, beforeAll, describe } from 'vitest'
import { describeVirtDriverConformance } from '@novum/core/testing'
import { LxcDriver } from './lxc-driver.js'
import { BUSYBOX_IMAGE_ID, busyboxImage, busyboxTarball, cleanSuite, fileImageSource, lxcSkipReason, NO_DATA_IMAGE_ID, suiteLxcPath, TEST_PREFIX } from './lxc-test-env.test-helper.js'

const skip = lxcSkipReason()
const imagePath = suiteLxcPath('conformance-image')
const templatePath = suiteLxcPath('conformance-template')
let tarball = ''

describe.skipIf(skip !== undefined)('LxcDriver conformance on real containers', () => {
  beforeAll(async () => {
    // NOTE: a crashed earlier run may have left containers behind: they go first.
    await Promise.all([cleanSuite(imagePath), cleanSuite(templatePath)])
    tarball = await busyboxTarball()
  }, 300_000)

  afterAll(async () => {
    await Promise.all([cleanSuite(imagePath), cleanSuite(templatePath)])
  }, 300_000)

  describeVirtDriverConformance(
    () =>
      new LxcDriver({
        hostname: 'lxc-conformance-image',
        lxcPath: imagePath,
        namePrefix: TEST_PREFIX,
        images: fileImageSource({ [BUSYBOX_IMAGE_ID]: tarball }),
        softRebootTimeoutSec: 20,
      }),
    {
      name: 'VirtDriver conformance (rootfs from an image tarball)',
      makeImage: () => busyboxImage(),
      flavor: { vcpus: 1, memoryMb: 128, rootGb: 1 },
      timeoutMs: 180_000,
      concurrency: 20,
      powerOffOptions: { timeoutSec: 10 },
    },
  )

  describeVirtDriverConformance(
    () =>
      new LxcDriver({
        hostname: 'lxc-conformance-template',
        lxcPath: templatePath,
        namePrefix: TEST_PREFIX,
        images: fileImageSource({}),
        template: 'busybox',
        softRebootTimeoutSec: 20,
      }),
    {
      name: 'VirtDriver conformance (rootfs from the busybox template)',
      makeImage: () => busyboxImage({ id: NO_DATA_IMAGE_ID, name: 'no-data' }),
      flavor: { vcpus: 1, memoryMb: 128, rootGb: 1 },
      timeoutMs: 180_000,
      concurrency: 3,
      powerOffOptions: { timeoutSec: 10 },
    },
  )
})
