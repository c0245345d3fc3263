// A fault injector for tests of `wharf local` (loaded with `node --import`): SIGUSR2 makes the
// process throw an exception nothing catches, as a bug in any of its parts would.
process.on('SIGUSR2', () => {
  throw new Error('injected crash (SIGUSR2)');
});
