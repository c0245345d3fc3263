// node:http and node:https for the agent, without Node's fetch implementation. An ESM import of
// node:http reads every export of the builtin, and three of them (WebSocket, CloseEvent,
// MessageEvent) are getters that load undici: about 10 MB of memory beside NGINX for nothing the
// agent uses. require() reads no export it is not asked for.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export const http: typeof import('node:http') = require('node:http');

/**
 * node:https, loaded on first use: only a snapshot URL with https: needs it, and loading TLS costs
 * about 5 MB.
 */
export const https = (): typeof import('node:https') => require('node:https');
