// `npm run docs:keys`: writes docs/ingress-nginx-keys.md from wharf's tables (src/check/keys-guide.ts).
// With --check, writes nothing and exits 1 when the committed file differs from what it would write.
import { readFileSync, writeFileSync } from 'node:fs';
import { keysGuide } from '../src/check/keys-guide.ts';

const file = new URL('../docs/ingress-nginx-keys.md', import.meta.url);
const text = keysGuide();
if (process.argv.includes('--check')) {
  let committed = '';
  try {
    committed = readFileSync(file, 'utf8');
  } catch {
    // missing: differs
  }
  if (committed !== text) {
    process.stderr.write('docs/ingress-nginx-keys.md differs from what wharf\'s tables give: run `npm run docs:keys` and commit it\n');
    process.exit(1);
  }
  process.stdout.write('docs/ingress-nginx-keys.md is up to date\n');
} else {
  writeFileSync(file, text);
  process.stdout.write('wrote docs/ingress-nginx-keys.md\n');
}
