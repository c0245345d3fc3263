// What wharf accepts from Secrets: htpasswd files NGINX's auth_basic_user_file reads, and TLS
// material whose certificate and key parse and match. Messages never quote Secret data.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseSecret } from '../../src/model/index.ts';
import { htpasswdOf } from '../../src/model/secrets.ts';
import { authSecret } from './fixtures.ts';

function secret(htpasswd: string) {
  const p = parseSecret(authSecret('users', htpasswd));
  assert.ok(p.ok);
  return p.value;
}

describe('htpasswd', () => {
  const valid: Record<string, string> = {
    apr1: 'alice:$apr1$1/Dvyhhl$8ZBJ5G2Wm8rz8QpTki7MW.',
    md5crypt: 'alice:$1$muToP8uM$xCmztWZ3mjSqukrCL0Odw0',
    sha256crypt: 'alice:$5$2ax33lm9g39e3o9u$wHhRi9bCIVAJdlHsrfvZZ3lktkmpTBrOJ7Yq2QBlSF3',
    sha512crypt: 'alice:$6$PddK4a7/DoOl.V83$rLXlbosR1V1MLA1i2TUk..DcWgY0rHx1NP09A1FDcJUyp23HUbcb93C8eAuqh2jLlUdVdmJgrNiXvR9f.E/GU1',
    bcrypt: 'alice:$2y$05$abcdefghijklmnopqrstuuJ1mJ0p4w5H6e3yqGz1Xq0t6o7m8n9Oa',
    sha: 'alice:{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=',
    ssha: 'alice:{SSHA}gVK8WC9YyFT1gMsQHTGCgT3sSv5zYWx0',
    plain: 'alice:{PLAIN}secret',
    'DES crypt': 'alice:abJnggxhB/yWI',
    'with a comment field': 'alice:{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=:Alice Liddell',
    'email user name': 'alice@example.com:{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=',
  };
  for (const [name, line] of Object.entries(valid)) {
    it(`accepts ${name}`, () => assert.deepEqual(htpasswdOf(secret(`${line}\r\n`)), { ok: true, htpasswd: `${line}\n` }));
  }
  const invalid: Record<string, [string, string]> = {
    'a plaintext password': ['alice:secret', '"auth" line 1 is not "user:hash"'],
    'a user with a space': ['al ice:{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=', '"auth" line 1 is not "user:hash"'],
    'an NGINX directive': ['alice:{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=\ninclude /etc/passwd;', '"auth" line 2 is not "user:hash"'],
    'only comments': ['# nobody\n\n', '"auth" lists no user'],
  };
  for (const [name, [text, reason]] of Object.entries(invalid)) {
    it(`refuses ${name}, without quoting the data`, () => {
      const r = htpasswdOf(secret(text));
      assert.equal(r.ok, false);
      assert.ok(!r.ok && r.reason.startsWith(reason), !r.ok ? r.reason : '');
      assert.ok(!r.ok && !r.reason.includes('secret') && !r.reason.includes('alice'));
    });
  }
});
