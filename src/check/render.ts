// `wharf render`: the NGINX configuration a set of manifests produces, with the renderer the handler
// tier uses, for review in a pull request. Deterministic: the same manifests print the same bytes
// (the model is sorted, the renderer pure); file contents (certificates, keys, htpasswd) are named
// with their size, never printed.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildModel } from '../model/index.ts';
import { certificateInclude } from '../agent/certificate-files.ts';
import { fragmentName, renderModel, type Certificate, type Fragment, type RenderFailure } from '../render/index.ts';
import type { CheckReport } from './check.ts';

export interface Rendered {
  fragments: Fragment[];
  failures: RenderFailure[];
  certificates: Certificate[];
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

/** The certificates `fragments` serve (they include `certificates/NAME.con[f]`). */
export function certificatesOf(rendered: Rendered, fragments: readonly Fragment[]): Certificate[] {
  const used = new Set<string>();
  for (const f of fragments) for (const m of f.config.matchAll(/include certificates\/(\S+)\.con\[f\];/g)) used.add(m[1]!);
  return rendered.certificates.filter((c) => used.has(c.name));
}

/**
 * The printable form: each fragment under a header naming the file the agent writes it to, then the
 * certificates (sent to the agent apart from the fragments: docs/certificates.md), named, never printed.
 */
export function renderText(fragments: readonly Fragment[], certificates: readonly Certificate[] = []): string {
  let out = '';
  for (const f of fragments) {
    out += `# ---- fragments/${f.name}.conf ----\n${f.config}${f.config.endsWith('\n') ? '' : '\n'}`;
    for (const [file, { content, secret }] of Object.entries(f.files)) {
      out += `# file files/${f.name}/${file}: ${Buffer.byteLength(content)} bytes${secret ? ', secret' : ''} (not printed)\n`;
    }
  }
  for (const c of certificates) {
    out += `# certificate ${c.name}: ${Buffer.byteLength(c.cert)} bytes and a key (not printed; NGINX's memory, or certificates/${c.name}.crt and .key without Lua)\n`;
  }
  return out;
}

/**
 * Writes the fragments and their files under `dir` as the agent lays them out in its prefix, and the
 * certificates as it writes them without the Lua module (certificates/NAME.{conf,crt,key}).
 */
export async function writeFragments(dir: string, fragments: readonly Fragment[], certificates: readonly Certificate[] = []): Promise<void> {
  if (certificates.length) await mkdir(join(dir, 'certificates'), { recursive: true, mode: 0o700 });
  for (const c of certificates) {
    await writeFile(join(dir, 'certificates', `${c.name}.conf`), certificateInclude(c.name, true));
    await writeFile(join(dir, 'certificates', `${c.name}.crt`), c.cert, { mode: 0o644 });
    await writeFile(join(dir, 'certificates', `${c.name}.key`), c.key, { mode: 0o600 });
  }
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
