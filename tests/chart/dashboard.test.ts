// The Grafana dashboard of the chart (charts/wharf/dashboards/wharf.json) queries only what wharf
// exports: every metric name in its queries and variables is declared by a real agent's /metrics
// (after real traffic through its NGINX) or by the handler's, and every label the request-metric
// queries select or group on is a label of those series.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startTestAgent, type TestAgent } from '../agent/harness.ts';
import { declaredNames, parseExposition } from '../agent/exposition.ts';
import { startBackend, type Backend } from '../support/backend.ts';
import { request } from '../support/http.ts';
import { ingressObject, renderObjects, serviceObject } from '../render/helpers.ts';
import { testHandler } from '../handlers/support.ts';

const dashboardFile = fileURLToPath(new URL('../../charts/wharf/dashboards/wharf.json', import.meta.url));

/** Every PromQL expression of the dashboard: panel targets (rows included) and variable queries. */
function expressions(dashboard: any): string[] {
  const out: string[] = [];
  const walk = (panels: any[] = []) => {
    for (const p of panels) {
      for (const t of p.targets ?? []) if (t.expr) out.push(t.expr);
      walk(p.panels);
    }
  };
  walk(dashboard.panels);
  for (const v of dashboard.templating?.list ?? []) {
    if (v.type !== 'query') continue;
    out.push(typeof v.query === 'string' ? v.query : v.query.query);
  }
  return out;
}

const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'and', 'or', 'unless', 'bool', 'offset']);

/** The metric names an expression reads, and the labels it selects on or groups by. */
function references(expr: string): { metrics: string[]; labels: string[] } {
  const labels: string[] = [];
  let e = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  // Grafana's label_values(selector, label).
  e = e.replace(/label_values\(([^,]+),\s*([a-zA-Z_]\w*)\s*\)/g, (_, selector: string, label: string) => {
    labels.push(label);
    return selector;
  });
  e = e.replace(/\{([^}]*)\}/g, (_, inner: string) => {
    for (const m of inner.matchAll(/([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)/g)) labels.push(m[1]!);
    return ' ';
  });
  e = e.replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g, (_, inner: string) => {
    labels.push(...inner.split(',').map((s) => s.trim()).filter(Boolean));
    return ' ';
  });
  e = e.replace(/\[[^\]]*\]/g, ' ');
  const metrics = [...e.matchAll(/([a-zA-Z_:][\w:]*)(\s*\()?/g)]
    .filter((m) => !m[2] && !KEYWORDS.has(m[1]!))
    .map((m) => m[1]!);
  return { metrics, labels };
}

const cleanup: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of cleanup.reverse()) await c();
});

test('the dashboard queries only metrics the agent and the handler export, with their labels', async () => {
  const dashboard = JSON.parse(readFileSync(dashboardFile, 'utf8'));
  const exprs = expressions(dashboard);
  assert.ok(exprs.length >= 15, `only ${exprs.length} queries found`);

  // A real agent and NGINX with one Ingress that has served a request, so the request series exist.
  const t: TestAgent = await startTestAgent();
  cleanup.push(() => t.stop());
  const app: Backend = await startBackend('app');
  cleanup.push(() => app.close());
  const { fragments } = renderObjects([
    ingressObject({ name: 'app', rules: [{ host: 'app.example.com', paths: [{ pathType: 'Prefix', path: '/', service: 'app' }] }] }),
    serviceObject('app'),
  ]);
  const applied = await t.api('POST', '/v1/batch?wait=1', {
    fragments: fragments.map((f) => ({ ...f, revision: 1 })),
    endpoints: [{ upstream: 'default-app-80', revision: 1, endpoints: [app.address] }],
  });
  assert.equal(applied.status, 200, applied.text);
  assert.equal((await request({ port: t.httpPort, host: 'app.example.com', path: '/' })).status, 200);
  const agentText = (await t.api('GET', '/metrics')).text;
  const handler = testHandler();
  cleanup.push(async () => handler.close());
  const handlerText = await (await handler.app.request('/metrics')).text();

  const declared = new Set([...declaredNames(agentText), ...declaredNames(handlerText)]);
  const histograms = new Set([...`${agentText}\n${handlerText}`.matchAll(/^# TYPE (\S+) histogram$/gm)].map((m) => m[1]!));
  const samples = parseExposition(agentText);
  const requestLabels = new Set(samples.filter((s) => s.name.startsWith('nginx_ingress_controller_')).flatMap((s) => Object.keys(s.labels)));
  assert.ok(requestLabels.has('ingress') && requestLabels.has('status'), 'the agent exported no request series after a request');

  const used = new Set<string>();
  for (const expr of exprs) {
    const { metrics, labels } = references(expr);
    assert.ok(metrics.length > 0, `no metric found in ${expr}`);
    for (const name of metrics) {
      const base = name.replace(/_(bucket|sum|count)$/, '');
      const known = declared.has(name) || (base !== name && histograms.has(base));
      assert.ok(known, `${name} (in ${expr}) is exported by neither the agent nor the handler`);
      used.add(base);
    }
    if (metrics.some((m) => m.startsWith('nginx_ingress_controller_'))) {
      for (const label of labels) {
        assert.ok(label === 'le' || requestLabels.has(label), `label ${label} (in ${expr}) is not a label of the request series`);
      }
    }
  }
  // What the issue asks the dashboard to show.
  for (const name of ['nginx_ingress_controller_requests', 'nginx_ingress_controller_request_duration_seconds', 'wharf_agent_reloads_total', 'wharf_agent_endpoint_updates_total']) {
    assert.ok(used.has(name), `the dashboard does not use ${name}`);
  }
});
