// `wharf render`: the NGINX configuration a set of manifests produces, with the renderer the handler
// tier uses, for review in a pull request. Deterministic: the same manifests print the same bytes
// (the model is sorted, the renderer pure); file contents (certificates, keys, htpasswd) are named
// with their size, never printed.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildModel } from '../model/index.ts';
import { fragmentName, renderModel, type Fragment, type RenderFailure } from '../render/index.ts';
import type { CheckReport } from './check.ts';

export interface Rendered {
  fragments: Fragment[];
  failures: RenderFailure[];
}

/** Every fragment of the checked input (refused Ingresses are left out, as the handler leaves them). */
export function renderReport(report: CheckReport): Rendered {
  return renderModel(buildModel(report.index, report.settings));
}

/** The fragment of one host (as written in the Ingress), or null when no server has that name. */
export function hostFragment(rendered: Rendered, host: string): Fragment | null {
  const name = fragmentName(host.toLowerCase());
  return rendered.fragments.find((f) => f.name === name) ?? null;
}

/** The printable form: each fragment under a header naming the file the agent writes it to. */
export function renderText(fragments: readonly Fragment[]): string {
  let out = '';
  for (const f of fragments) {
    out += `# ---- fragments/${f.name}.conf ----\n${f.config}${f.config.endsWith('\n') ? '' : '\n'}`;
    for (const [file, { content, secret }] of Object.entries(f.files)) {
      out += `# file files/${f.name}/${file}: ${Buffer.byteLength(content)} bytes${secret ? ', secret' : ''} (not printed)\n`;
    }
  }
  return out;
}

/** Writes the fragments and their files under `dir` as the agent lays them out in its prefix. */
export async function writeFragments(dir: string, fragments: readonly Fragment[]): Promise<void> {
  await mkdir(join(dir, 'fragments'), { recursive: true });
  for (const f of fragments) {
    await writeFile(join(dir, 'fragments', `${f.name}.conf`), f.config);
    if (!Object.keys(f.files).length) continue;
    await mkdir(join(dir, 'files', f.name), { recursive: true, mode: 0o700 });
    for (const [file, { content, secret }] of Object.entries(f.files)) {
      await writeFile(join(dir, 'files', f.name, file), content, { mode: secret ? 0o600 : 0o644 });
    }
  }
}
