// @vitest-environment node
import { describe, expect, it } from 'vitest'
import { chromiumPath } from './chromium'

describe('finding Chromium for the browser tests', () => {
  it('fails with a message that says how to get one, rather than skipping', () => {
    expect(() => chromiumPath([undefined, '/nonexistent/chromium'])).toThrow(/apt-get install -y chromium.*CHROMIUM_PATH/s)
  })

  it('takes the first candidate that exists', () => {
    expect(chromiumPath(['/nonexistent/chromium', process.execPath])).toBe(process.execPath)
  })
})
