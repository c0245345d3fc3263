// Where NGINX's access log goes with --access-log. The configuration writes it to /dev/stdout, which
// NGINX opens by path: that works when the agent's stdout is a terminal, a file or a pipe (a
// container runtime's), but not when it is a socket (systemd's journal; a parent that spawns the
// agent with Node's 'pipe', which is a socketpair), where open() fails with ENXIO and NGINX refuses
// to start. There NGINX's stdout is the write end of a FIFO in the prefix's run directory instead,
// and the agent copies what comes out of it to its own stdout, line for line as NGINX wrote them.
import { execFileSync } from 'node:child_process';
import { closeSync, constants, fstatSync, openSync, rmSync } from 'node:fs';
import { Socket } from 'node:net';
import { join } from 'node:path';

/** What to give NGINX as its stdout, and how to let go of it once NGINX has stopped. */
export interface AccessLogOutput {
  stdio: 'inherit' | number;
  close(): void;
}

/** True when file descriptor `fd` is a socket. */
export function isSocket(fd: number): boolean {
  try {
    return fstatSync(fd).isSocket();
  } catch {
    return false;
  }
}

/**
 * NGINX's stdout for an access log that reaches the agent's stdout. The agent keeps the FIFO's
 * write end open too, so that a restarted NGINX writes into the same stream and the copy never
 * sees an end of file in between.
 */
export function openAccessLogOutput(runDir: string, stdoutFd = 1): AccessLogOutput {
  if (!isSocket(stdoutFd)) return { stdio: 'inherit', close() {} };
  const path = join(runDir, 'access-log.fifo');
  rmSync(path, { force: true });
  try {
    execFileSync('mkfifo', ['-m', '600', path], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (e) {
    const stderr = (e as { stderr?: Buffer }).stderr?.toString().trim();
    throw new Error(`--access-log: stdout is a socket, which NGINX cannot open, and no FIFO could be made at ${path}: ${stderr || (e as Error).message}`);
  }
  // Read end first (non-blocking, so that opening does not wait for a writer), then the write end.
  const readFd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  const writeFd = openSync(path, constants.O_WRONLY);
  const reader = new Socket({ fd: readFd, readable: true, writable: false });
  reader.pipe(process.stdout, { end: false });
  let closed = false;
  return {
    stdio: writeFd,
    close() {
      if (closed) return;
      closed = true;
      closeSync(writeFd);
      reader.destroy();
      rmSync(path, { force: true });
    },
  };
}
