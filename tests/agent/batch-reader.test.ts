// The batch reader against the whole-text parse it replaces: for any text, in any chunks, it accepts
// what `Batch.safeParse(JSON.parse(text))` accepts with the same values, reports the same invalid
// fields, and refuses malformed JSON with where it is.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeIssues } from '../../src/agent/api.ts';
import { BatchReader, type BatchReading } from '../../src/agent/batch-reader.ts';
import { Batch } from '../../src/protocol/agent-api.ts';

/** The reader's answer for `text` pushed in pieces cut at `cuts`. */
function read(text: string, cuts: number[] = []): BatchReading {
  const reader = new BatchReader();
  let from = 0;
  for (const at of [...cuts, text.length]) {
    reader.push(text.slice(from, at));
    from = at;
  }
  return reader.end();
}

type Whole = { ok: true; batch: unknown } | { ok: false; malformed: true } | { ok: false; issues: string[] };

/** What the whole-text parse says. */
function whole(text: string): Whole {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return { ok: false, malformed: true };
  }
  const r = Batch.safeParse(data, { reportInput: true });
  return r.success ? { ok: true, batch: r.data } : { ok: false, issues: describeIssues(r.error.issues) };
}

function assertSame(text: string, cuts: number[] = []): void {
  const expected = whole(text);
  const got = read(text, cuts);
  const label = `${JSON.stringify(text.slice(0, 120))} cut at ${cuts.join(',') || 'nothing'}`;
  if (expected.ok) {
    assert.ok(got.ok, `${label}: refused: ${JSON.stringify(got)}`);
    assert.deepEqual(got.batch, expected.batch, label);
  } else if ('malformed' in expected) {
    assert.ok(!got.ok && 'malformed' in got, `${label}: not refused as malformed: ${JSON.stringify(got)}`);
  } else {
    assert.ok(!got.ok && 'issues' in got, `${label}: not refused for its fields: ${JSON.stringify(got)}`);
    assert.deepEqual(describeIssues(got.issues), expected.issues, label);
  }
}

const fragment = (name: string, revision = 1, config = `server { server_name ${name}; }\n`) => ({ name, revision, config });

const VALID = [
  {},
  { fragments: [] },
  { fragments: [fragment('a.example.com')], complete: true, revision: 4096 },
  {
    fragments: [
      fragment('a.example.com', 3, 'location / { return 200 "a \\"quoted\\" {brace} [bracket] \\\\"; }\n'),
      { name: 'b.example.com', revision: 2, deleted: true },
      { ...fragment('_main'), files: { 'htpasswd-x': { content: 'user:$apr1$x$y\n', secret: true }, 'ca.pem': { content: '-----BEGIN-----\n' } } },
    ],
    endpoints: [
      { upstream: 'default-web-80', revision: 7, endpoints: ['10.0.0.1:8080', '[fd00::1]:8080'] },
      { upstream: 'default-old-80', revision: 8, deleted: true },
    ],
    certificates: [{ name: 'old.example.com', revision: 3, deleted: true }],
    complete: false,
  },
  // Unknown keys are left out, whatever they hold; text in every script; a key given twice counts once (the last).
  { zone: { nested: [1, [2, { deep: '}]' }]] }, fragments: [fragment('ü.example.com', 1, 'return 200 "ünïcødé ✓ \\u0000 \\n";')], notes: ['a', 'b'], n: -1.5e3, t: true, f: null },
];

test('a valid batch reads as the whole-text parse reads it, in one piece, cut anywhere in two, and a character at a time', () => {
  const texts = VALID.map((v) => JSON.stringify(v));
  texts.push(JSON.stringify(VALID[3], null, 2)); // whitespace between every token
  texts.push('{"fragments":[{"name":"x.example.com","revision":1,"config":"a"}],"fragments":[{"name":"y.example.com","revision":2,"config":"b"}]}');
  texts.push('{"complete":true,"fragments":[{"name":"x.example.com","revision":1,"config":"a"}],"fragments":null}');
  // Keys that name what every JavaScript object has are keys like any other.
  texts.push('{"constructor":[1],"toString":[{"a":2}],"__proto__":[3],"hasOwnProperty":{"x":[]},"fragments":[]}');
  for (const text of texts) {
    assertSame(text);
    for (let i = 1; i < text.length; i++) assertSame(text, [i]);
    assertSame(text, Array.from({ length: text.length - 1 }, (_, i) => i + 1));
  }
});

test('bytes off the wire read the same, cut anywhere, inside a character of several bytes too', () => {
  const text = JSON.stringify({ fragments: [fragment('u.example.com', 1, 'return 200 "ünïcødé ✓ 😀";')], complete: true });
  const bytes = Buffer.from(text);
  assert.ok(bytes.length > text.length, 'the text has characters of several bytes');
  const expected = whole(text);
  assert.ok(expected.ok);
  for (let i = 1; i < bytes.length; i++) {
    const reader = new BatchReader();
    reader.pushBytes(bytes.subarray(0, i));
    reader.pushBytes(bytes.subarray(i));
    const got = reader.end();
    assert.ok(got.ok, `cut at byte ${i}: ${JSON.stringify(got)}`);
    assert.deepEqual(got.batch, expected.batch, `cut at byte ${i}`);
  }
  // A byte-order mark is kept, as Buffer's toString keeps it, and refused as JSON.parse refuses it.
  const reader = new BatchReader();
  reader.pushBytes(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{}')]));
  const r = reader.end();
  assert.ok(!r.ok && 'malformed' in r && /expected a JSON object/.test(r.malformed), JSON.stringify(r));
});

test('an invalid batch names the same fields for the same reasons as the whole-text parse', () => {
  const texts = [
    { fragments: [fragment('Not A Name')] },
    { fragments: [fragment('a.example.com'), { name: 'b.example.com', revision: -1, config: 'x' }, fragment('c.example.com')] },
    { endpoints: [{ upstream: 'default-web-80', revision: 1, endpoints: ['999.1.1.1:80', '10.0.0.1:0'] }] },
    { fragments: 'all of them' },
    { fragments: [fragment('a.example.com')], complete: 'yes', revision: 1.5 },
    { certificates: [{ name: 'a.example.com', revision: 1, cert: '', key: '' }], endpoints: [{ upstream: 'x', revision: 1 }] },
    { endpoints: [{ upstream: 'x', revision: 1 }], fragments: [{ name: 'a', revision: 'one', config: 'x' }] },
  ].map((v) => JSON.stringify(v));
  for (const text of texts) {
    assertSame(text);
    assertSame(text, [Math.floor(text.length / 3), Math.floor((2 * text.length) / 3)]);
  }
});

test('malformed JSON is refused with where it is, never taken in part', () => {
  const cases: [string, RegExp][] = [
    ['{"fragments":[{"name":"a","revision":1,"config":"x"}{"name":"b","revision":1,"config":"y"}]}', /expected "," or "]" \(at character 52\)/],
    ['{"fragments":[{"name":"a","revision":1,"config":"x"},]}', /fragments\[1\]: expected a value \(at character 53\)/],
    ['{"complete":,"revision":1}', /complete: expected a value \(at character 12\)/],
    ['{"complete":true,}', /expected a key \(at character 17\)/],
    ['{"complete" true}', /expected ":"/],
    ['{"fragments":[{"name":"a","revision":1,"config":"x}]}', /unexpected end of the body/],
    ['{"complete":tru}', /complete: /],
    ['{"complete":true}{}', /unexpected text after the end of the object \(at character 17\)/],
    ['{"complete":true', /unexpected end of the body/],
    ['', /unexpected end of the body/],
    ['[]', /expected a JSON object \(at character 0\)/],
    ['\ufeff{}', /expected a JSON object/],
    ['{"fragments":[{"name":"a","revision":1,"config":"x\\"}]}', /unexpected end of the body/],
  ];
  for (const [text, why] of cases) {
    for (const cuts of [[], [Math.floor(text.length / 2)]]) {
      const r = read(text, cuts);
      assert.ok(!r.ok && 'malformed' in r, `${text}: not refused: ${JSON.stringify(r)}`);
      assert.match(r.malformed, why, text);
    }
  }
});

test('texts with random damage are accepted and refused exactly as by the whole-text parse', () => {
  // A fixed sequence (xorshift), so a failure can be run again.
  let seed = 0x9e3779b9;
  const random = (n: number) => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) % n;
  };
  const alphabet = '{}[]",:\\ 0123456789-.etrufalsn"abxyz';
  const texts = VALID.map((v) => JSON.stringify(v)).filter((t) => t.length > 10);
  for (let k = 0; k < 3000; k++) {
    const base = texts[random(texts.length)]!;
    const at = random(base.length);
    const kind = random(3);
    const text = kind === 0 ? base.slice(0, at) + base.slice(at + 1) : kind === 1 ? base.slice(0, at) + alphabet[random(alphabet.length)] + base.slice(at) : base.slice(0, at) + alphabet[random(alphabet.length)] + base.slice(at + 1);
    assertSame(text, [random(text.length + 1)].sort((a, b) => a - b));
  }
});

test('a value longer than the reader takes is refused by name, however the batch limit was set', () => {
  const reader = new BatchReader({ maxValueChars: 1000 });
  const text = JSON.stringify({ fragments: [fragment('a.example.com'), fragment('b.example.com', 1, `# ${'x'.repeat(5000)}\n`)] });
  for (let i = 0; i < text.length; i += 100) reader.push(text.slice(i, i + 100));
  const r = reader.end();
  assert.ok(!r.ok && 'malformed' in r, JSON.stringify(r).slice(0, 300));
  assert.match(r.malformed, /^fragments\[1\]: a value longer than 1000 characters, the longest this agent reads \(at character \d+\)$/);
  // Values up to the bound are read.
  assert.ok(read(JSON.stringify({ fragments: [fragment('a.example.com')] })).ok);
});
