// The `wharf check` and `wharf render` command lines: flags in, the report on stdout, the exit
// status CI acts on (0: nothing refused; 1: admission would deny something; 2: bad usage or an input
// that cannot be read). Neither needs a cluster or NGINX.
import { parseArgs } from 'node:util';
import { UsageError, parseNamespacedName } from '../cli-flags.ts';
import { defaultControllerSettings, type ControllerSettings } from '../model/index.ts';
import { checkInputs, hasDenial, type CheckOptions, type CheckReport } from './check.ts';
import { InputError, readAllStdin, readInputs } from './documents.ts';
import { migrationReport, migrationText } from './migration.ts';
import { findingLine, otherClassIngresses, reportJson, summaryLine } from './output.ts';
import { certificatesOf, hostFragment, renderReport, renderText, writeFragments } from './render.ts';

const COMMON = `  --ingress-class NAME          the IngressClass wharf serves (default wharf)
  --watch-ingress-without-class Ingresses that name no class are wharf's too
  --configmap NS/NAME           the global settings ConfigMap (default: the one labelled
                                app.kubernetes.io/name=wharf, else the input's only ConfigMap
                                without that label)`;

export const CHECK_USAGE = `usage: wharf check [options] PATH... | -

Checks Kubernetes manifests offline with the admission webhook's own code: files, folders (their
.yaml/.yml files) or stdin (-), e.g. \`helm template … | wharf check -\`. All the objects given are
the cluster: an Ingress's Services, Secrets and rivals for its hosts are the ones in the input (an
object listed earlier counts as older). One line per problem on stdout:
  file:line: error|warning: Kind namespace/name: field: reason
Exit status 0 when nothing is refused (warnings allowed), 1 when admission would deny an object or a
document is not readable YAML, 2 on bad usage or an unreadable path.

  --output text|json            json: one document with the objects checked and every problem
  --from ingress-nginx          the migration report: what wharf does with each annotation and
                                ConfigMap key (read, read differently, ignored, refused), every
                                Ingress taken as wharf's whatever its class
${COMMON}`;

export const RENDER_USAGE = `usage: wharf render [options] PATH... | -

Prints the NGINX configuration the manifests produce (the handler tier's renderer; the same input
always prints the same bytes), for review: each fragment under the name of its file. Problems go
to stderr as \`wharf check\` prints them; exit status as \`wharf check\`'s.

  --host NAME                   print only this host's fragment
  --out DIR                     also write the fragments and their files under DIR, as the agent
                                lays them out (fragments/NAME.conf, files/NAME/…)
${COMMON}`;

const COMMON_OPTIONS = {
  'ingress-class': { type: 'string' },
  'watch-ingress-without-class': { type: 'boolean' },
  configmap: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

function checkOptions(values: { 'ingress-class'?: string; 'watch-ingress-without-class'?: boolean; configmap?: string }): CheckOptions {
  const controller: ControllerSettings = {
    ...defaultControllerSettings,
    ...(values['ingress-class'] !== undefined ? { ingressClassName: values['ingress-class'] } : {}),
    watchIngressWithoutClass: values['watch-ingress-without-class'] ?? false,
  };
  if (values['ingress-class'] !== undefined && !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(values['ingress-class'])) {
    throw new UsageError(`--ingress-class: Invalid value: ${JSON.stringify(values['ingress-class'])}: must be an IngressClass name`);
  }
  if (values.configmap === undefined) return { controller };
  const { namespace, name } = parseNamespacedName('--configmap', values.configmap);
  return { controller, configMap: `${namespace}/${name}` };
}

/** Runs a command body; usage errors and unreadable input exit 2 with one line on stderr. */
async function guarded(usage: string, body: () => Promise<number>): Promise<void> {
  try {
    process.exitCode = await body();
  } catch (e) {
    if (!(e instanceof UsageError || e instanceof InputError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS'))) throw e;
    console.error(`wharf: ${(e as Error).message}`);
    if (!(e instanceof InputError)) console.error(`\n${usage}`);
    process.exitCode = 2;
  }
}

async function checkedInput(positionals: string[], options: CheckOptions): Promise<CheckReport> {
  if (!positionals.length) throw new UsageError('give at least one PATH, or - for stdin');
  if (positionals.filter((p) => p === '-').length > 1) throw new UsageError('- (stdin) can be given once');
  return checkInputs(await readInputs(positionals, readAllStdin), options);
}

/** `wharf check`. */
export async function checkMain(argv: string[]): Promise<void> {
  await guarded(CHECK_USAGE, async () => {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { ...COMMON_OPTIONS, output: { type: 'string', default: 'text' }, from: { type: 'string' } },
    });
    if (values.help) {
      console.log(CHECK_USAGE);
      return 0;
    }
    if (values.output !== 'text' && values.output !== 'json') throw new UsageError(`--output: Unsupported value: ${JSON.stringify(values.output)}: text or json`);
    if (values.from !== undefined && values.from !== 'ingress-nginx') throw new UsageError(`--from: Unsupported value: ${JSON.stringify(values.from)}: ingress-nginx is the one known`);
    const options = checkOptions(values);
    const migrating = values.from !== undefined;
    const report = await checkedInput(positionals, migrating ? { ...options, adopt: true, configMapApps: ['ingress-nginx', 'wharf'] } : options);
    const denied = hasDenial(report.findings) ? 1 : 0;
    if (migrating) {
      const migration = migrationReport(report);
      // Problems of documents that are no object at all (YAML syntax) come first: no object lists them.
      const loose = report.findings.filter((f) => !f.kind);
      if (values.output === 'json') process.stdout.write(`${JSON.stringify({ ...migration, problems: loose }, null, 2)}\n`);
      else process.stdout.write(loose.map((f) => `${findingLine(f)}\n`).join('') + migrationText(migration));
      return denied;
    }
    if (values.output === 'json') process.stdout.write(`${JSON.stringify(reportJson(report), null, 2)}\n`);
    else {
      process.stdout.write(report.findings.map((f) => `${findingLine(f)}\n`).join(''));
      // Silent when all is well; said when something is wrong or was not checked for its class.
      if (report.findings.length || otherClassIngresses(report)) console.error(summaryLine(report));
    }
    return denied;
  });
}

/** `wharf render`. */
export async function renderMain(argv: string[]): Promise<void> {
  await guarded(RENDER_USAGE, async () => {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { ...COMMON_OPTIONS, host: { type: 'string' }, out: { type: 'string' } },
    });
    if (values.help) {
      console.log(RENDER_USAGE);
      return 0;
    }
    const report = await checkedInput(positionals, checkOptions(values));
    for (const f of report.findings) console.error(findingLine(f));
    const rendered = renderReport(report);
    for (const failure of rendered.failures) console.error(`wharf: fragment ${failure.name} not rendered: ${failure.error.message}`);
    let fragments = rendered.fragments;
    if (values.host !== undefined) {
      const one = hostFragment(rendered, values.host);
      if (!one) {
        const hosts = report.index.model().servers.map((s) => s.host);
        console.error(`wharf: --host: Not found: ${JSON.stringify(values.host)}: no server has this name; the hosts are ${hosts.join(', ') || '(none)'}`);
        return 1;
      }
      fragments = [one];
    }
    const certificates = certificatesOf(rendered, fragments);
    process.stdout.write(renderText(fragments, certificates));
    if (values.out !== undefined) await writeFragments(values.out, fragments, certificates);
    return hasDenial(report.findings) || rendered.failures.length ? 1 : 0;
  });
}
