/** Regression: `off(event, fn)` removes a listener that was added with `once(event, fn)`. */
import { expect, it } from 'vitest';
import { connected, setup } from './test-support/harness.js';

it('off() removes a listener added with once()', () => {
  const h = setup();
  let calls = 0;
  const fn = (): void => {
    calls++;
  };
  h.client.once('open', fn);
  h.client.off('open', fn);
  connected(h);
  expect(calls).toBe(0); // fails: 1
});
