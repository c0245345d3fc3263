// In Lua mode every location reaches the one Lua balancer, so the agent writes fragments with
// `proxy_pass http://wharf_balancer;` where the handler rendered `proxy_pass http://$wharf_backend;`
// (likewise grpc_pass). The reason is what NGINX 1.22 does with a variable in proxy_pass/grpc_pass:
// the scheme might turn out to be https at request time, so every such location gets an OpenSSL
// context of its own, and OpenSSL 3.0 takes about 0.13 ms to make one. With 2,000 hosts that is
// 2,000 contexts, about 250 ms of CPU (a quarter to a third) of every `nginx -t` and every reload.
// The handler tier renders one text for agents in either mode (reload mode needs the variable: its
// `$wharf_backend` map names one upstream per endpoint set), hence the rewrite here.
//
// Only the exact lines the templates emit are rewritten, in fragments where no location sets
// `$wharf_tls_isolated` (those name the upstream without keepalive through the same variable).
// `fromStatic` undoes it when the agent reads a fragment back from disk, so digests stay those of
// what the handler sent.

const TO_STATIC: [RegExp, string][] = [
  [/^(\s*)proxy_pass http:\/\/\$wharf_backend;$/gm, '$1proxy_pass http://wharf_balancer;'],
  [/^(\s*)grpc_pass grpc:\/\/\$wharf_backend;$/gm, '$1grpc_pass grpc://wharf_balancer;'],
];
const FROM_STATIC: [RegExp, string][] = [
  [/^(\s*)proxy_pass http:\/\/wharf_balancer;$/gm, '$1proxy_pass http://$wharf_backend;'],
  [/^(\s*)grpc_pass grpc:\/\/wharf_balancer;$/gm, '$1grpc_pass grpc://$wharf_backend;'],
];

/** A fragment's config as the agent writes it in Lua mode (see the file comment). */
export function toStatic(config: string): string {
  if (config.includes('$wharf_tls_isolated') || !config.includes('$wharf_backend;')) return config;
  return TO_STATIC.reduce((text, [re, to]) => text.replace(re, to), config);
}

/** The config as the handler sent it, from what toStatic wrote. */
export function fromStatic(config: string): string {
  if (config.includes('$wharf_tls_isolated') || !config.includes('://wharf_balancer;')) return config;
  return FROM_STATIC.reduce((text, [re, to]) => text.replace(re, to), config);
}

/** How fragment configs are written to and read from disk: as they are, or toStatic/fromStatic. */
export interface ConfigOnDisk {
  write(config: string): string;
  read(config: string): string;
}

export const configAsIs: ConfigOnDisk = { write: (c) => c, read: (c) => c };
export const configStaticBalancer: ConfigOnDisk = { write: toStatic, read: fromStatic };
