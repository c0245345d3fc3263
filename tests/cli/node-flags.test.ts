// What counts as a flag the user gave: both `wharf agent` and `wharf handler` add V8 flags of their
// own when they restart themselves, never over one the user set.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { flagGiven, flagsNotGiven } from '../../src/node-flags.ts';

test('a flag counts as given in any spelling, negated, with a value, or refined', () => {
  const cases: [string, string[], string, boolean][] = [
    ['--max-semi-space-size', ['--max-semi-space-size=4'], '', true],
    ['--max-semi-space-size', [], '--max_semi_space_size=4', true],
    ['--max-old-space-size', [], '--max-old-space-size-percentage=50', true],
    ['--allocation-site-pretenuring', ['--no-allocation-site-pretenuring'], '', true],
    ['--no-allocation-site-pretenuring', ['--allocation-site-pretenuring'], '', true],
    ['--optimize-for-size', ['--no_optimize_for_size'], '', true],
    ['--max-semi-space-size', ['--max-old-space-size=256', '--require', '/x/--max-semi-space-size'], '--enable-source-maps', false],
    ['--max-old-space-size', ['--max-old'], '', false],
    ['--optimize-for-size', [], '', false],
  ];
  for (const [flag, execArgv, nodeOptions, want] of cases) assert.equal(flagGiven(flag, execArgv, nodeOptions), want, `${flag} in ${[...execArgv, nodeOptions].join(' ')}`);
});

test('flagsNotGiven keeps the order of the flags to add and drops the ones given', () => {
  assert.deepEqual(flagsNotGiven(['--a=1', '--b', '--no-c'], ['--b=2'], '--c'), ['--a=1']);
  assert.deepEqual(flagsNotGiven(['--a=1', '--b'], [], ''), ['--a=1', '--b']);
});
