import { novumProject } from '../../vitest.shared.js'

export default novumProject('multi-node')
