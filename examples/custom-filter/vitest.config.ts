import { novumProject } from '../../vitest.shared.js'

export default novumProject('custom-filter')
