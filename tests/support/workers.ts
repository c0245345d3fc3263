// Tests wait for a reload's old NGINX workers to retire before asserting on routing (see the module).
export { acceptingWorkers, waitRetired } from '../../src/agent/nginx-workers.ts';
