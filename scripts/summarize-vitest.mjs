#!/usr/bin/env node
// Reads vitest JSON report(s) and prints exactly one line on stdout: `N passed, N failed, N skipped`.
//
//   node scripts/summarize-vitest.mjs [--vitest-exit-code N] [report.json | directory-of-reports]...
//
// Tests are counted by status: passed; failed; skipped + pending + todo (+ disabled). A test file that failed
// without a failed test in it (a suite that failed to load: syntax or import error, or a failing hook) counts as
// one failed test, so it cannot hide. Details (which tests failed, why the run is red) go to stderr.
//
// Exits non-zero when any test failed, when vitest itself exited non-zero (e.g. an unhandled error), when no
// test ran, or when a report is missing or unreadable.
import { readFileSync, readdirSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'

const SKIPPED = new Set(['skipped', 'pending', 'todo', 'disabled'])
const MAX_LISTED = 40

function parseArgs(argv) {
  const reports = []
  let vitestExitCode
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    if (arg === '--vitest-exit-code') {
      vitestExitCode = Number(argv[++i])
    } else if (arg.startsWith('--vitest-exit-code=')) {
      vitestExitCode = Number(arg.slice('--vitest-exit-code='.length))
    } else {
      reports.push(arg)
    }
  }
  if (vitestExitCode !== undefined && !Number.isInteger(vitestExitCode)) {
    throw new Error('--vitest-exit-code needs an integer')
  }
  return { reports: reports.length ? reports : ['.vitest-reports/results.json'], vitestExitCode }
}

function reportFiles(paths) {
  const files = []
  for (const path of paths) {
    if (statSync(path, { throwIfNoEntry: false })?.isDirectory()) {
      for (const name of readdirSync(path).sort()) if (name.endsWith('.json')) files.push(join(path, name))
    } else {
      files.push(path)
    }
  }
  return files
}

const firstLine = (text) => String(text ?? '').trim().split('\n')[0]?.slice(0, 300) ?? ''

function summarize(files) {
  const counts = { passed: 0, failed: 0, skipped: 0 }
  const problems = []
  const failures = []
  for (const file of files) {
    let report
    try {
      report = JSON.parse(readFileSync(file, 'utf8'))
    } catch (error) {
      problems.push(`cannot read vitest report ${file}: ${error instanceof Error ? error.message : String(error)}`)
      continue
    }
    if (!Array.isArray(report.testResults)) {
      problems.push(`${file} is not a vitest JSON report (no testResults)`)
      continue
    }
    if (report.success === false) problems.push(`${file} says the run did not succeed`)
    for (const suite of report.testResults) {
      const suiteName = relative(process.cwd(), String(suite.name ?? '?'))
      const tests = Array.isArray(suite.assertionResults) ? suite.assertionResults : []
      let failedHere = 0
      for (const test of tests) {
        if (test.status === 'passed') {
          counts.passed++
        } else if (SKIPPED.has(test.status)) {
          counts.skipped++
        } else {
          counts.failed++
          failedHere++
          failures.push(`${suiteName} > ${test.fullName ?? test.title}${test.status === 'failed' ? '' : ` (status ${test.status})`}\n    ${firstLine(test.failureMessages?.[0])}`)
        }
      }
      if (suite.status === 'failed' && failedHere === 0) {
        counts.failed++
        const what = tests.length === 0 ? 'failed to load' : 'failed outside its tests (hook or teardown)'
        failures.push(`${suiteName} ${what}\n    ${firstLine(suite.message)}`)
      }
    }
  }
  return { counts, problems, failures }
}

function main() {
  const { reports, vitestExitCode } = parseArgs(process.argv.slice(2))
  const files = reportFiles(reports)
  const { counts, problems, failures } = files.length
    ? summarize(files)
    : { counts: { passed: 0, failed: 0, skipped: 0 }, problems: [`no vitest report found in ${reports.join(', ')}`], failures: [] }

  if (vitestExitCode !== undefined && vitestExitCode !== 0) problems.push(`vitest exited with code ${vitestExitCode}`)
  if (counts.passed + counts.failed === 0) problems.push('no test ran')

  if (failures.length) {
    process.stderr.write(`\nFailed (${failures.length}):\n`)
    for (const failure of failures.slice(0, MAX_LISTED)) process.stderr.write(`  ✗ ${failure}\n`)
    if (failures.length > MAX_LISTED) process.stderr.write(`  … and ${failures.length - MAX_LISTED} more (see the report)\n`)
  }
  for (const problem of problems) process.stderr.write(`summarize-vitest: ${problem}\n`)

  process.stdout.write(`${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped\n`)
  process.exitCode = counts.failed > 0 || problems.length > 0 ? 1 : 0
}

main()
