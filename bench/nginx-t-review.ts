// The design wharf's admission webhook replaces: ingress-nginx's webhook reviews an Ingress by
// building the whole configuration with the object in it, writing it out and running `nginx -t` on
// it. This does the same with wharf's own model and renderer: every Ingress in the view plus the
// reviewed one, the full render, the fragments written into a temporary prefix beside the agent's
// skeleton (rendered here; no agent and no NGINX runs in it), then `nginx -t`. bench/admission.ts
// times a few such reviews beside the webhook's (`nginx_t_review_p50_ms`).
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findNginx } from '../src/agent/nginx-install.ts';
import { writeFragments } from '../src/check/render.ts';
import { defaultControllerSettings, RoutingIndex, stateFromObjects } from '../src/model/index.ts';
import { renderModel } from '../src/render/index.ts';
import { renderSkeleton, renderVersion } from '../src/render/skeleton.ts';

/** A temporary NGINX prefix holding the agent's skeleton; `review` renders into it and tests it. */
export function nginxTReviewer(): { review(objects: readonly object[]): Promise<{ ms: number; fragments: number }>; remove(): void } {
  const install = findNginx();
  const prefix = mkdtempSync(join(tmpdir(), 'wharf-bench-nginx-t-'));
  chmodSync(prefix, 0o755);
  const runDir = join(prefix, 'run');
  const privateDir = join(prefix, 'private');
  mkdirSync(runDir);
  mkdirSync(privateDir, { mode: 0o700 });
  const skeleton = renderSkeleton({
    runDir, privateDir, lua: install.lua, headersMoreModule: install.headersMore, brotliModule: install.brotli,
    user: null, errorLogLevel: 'warn', accessLog: false, workerProcesses: 1, workerConnections: 1024, workerShutdownTimeoutSeconds: 5,
    httpListen: ['127.0.0.1:8080'], httpsListen: ['127.0.0.1:8443'],
  });
  for (const [name, text] of Object.entries(skeleton)) writeFileSync(join(prefix, name), text);
  writeFileSync(join(prefix, 'version.conf'), renderVersion(1));
  writeFileSync(join(prefix, 'upstreams.conf'), 'map $wharf_upstream $wharf_backend { default wharf_no_endpoints; }\n');
  return {
    /** One review as ingress-nginx does it: the whole configuration with the object, then `nginx -t`. */
    async review(objects) {
      const t0 = performance.now();
      const { state } = stateFromObjects(objects);
      const rendered = renderModel(new RoutingIndex(defaultControllerSettings, state).model());
      if (rendered.failures.length) throw new Error(`refused fragments: ${rendered.failures.map((f) => f.error.message).join('; ')}`);
      rmSync(join(prefix, 'fragments'), { recursive: true, force: true });
      // The render's `_main` and `_default` fragments come with the hosts'.
      const fragments = rendered.fragments;
      await writeFragments(prefix, fragments);
      const r = spawnSync(install.bin, ['-p', prefix, '-c', join(prefix, 'nginx.conf'), '-t', '-q', '-e', 'stderr'], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`nginx -t refused the rendered configuration: ${r.stderr.slice(0, 2000)}`);
      return { ms: performance.now() - t0, fragments: fragments.length };
    },
    remove: () => rmSync(prefix, { recursive: true, force: true }),
  };
}
