// The agent's NGINX prefix: where every file lives, and the only code that writes there. Writes are
// atomic (a temp file renamed over the target), so NGINX never reads half a file. The asynchronous
// writes keep the event loop serving while they wait; the synchronous ones (`*Sync`) cost a third of
// the CPU for many small files, and their caller yields between slices of them (FragmentFiles).
import { closeSync, fchmodSync, fchownSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { mkdir, writeFile, rename, rm, chmod, chown, readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { FRAGMENT_NAME, FILE_NAME } from '../protocol/agent-api.ts';

/** A file's owner by number (secret files NGINX's workers must read when the master runs as root). */
export interface FileOwner {
  uid: number;
  gid: number;
}

/** Paths inside one agent's NGINX prefix. */
export class PrefixLayout {
  readonly prefix: string;
  readonly runDir: string;
  readonly privateDir: string;
  readonly fragmentsDir: string;
  readonly filesDir: string;
  readonly nginxConf: string;
  /** The config `nginx -t` checks when only a few fragments changed (see Reloader). */
  readonly testConf: string;
  readonly testIncludes: string;
  readonly versionConf: string;
  readonly upstreamsConf: string;
  readonly pidFile: string;
  readonly versionSocket: string;
  readonly statusSocket: string;
  readonly endpointsSocket: string;
  /** The endpoint sets, kept for the next agent (kept-endpoints.ts). */
  readonly keptEndpoints: string;
  /** The Lua certificate store's control socket, and its certificates kept for the next agent (0600). */
  readonly certificatesSocket: string;
  readonly keptCertificates: string;
  /** Without the Lua module: certificates as files, `certificates/NAME.{conf,crt,key}` (certificate-files.ts). */
  readonly certificatesDir: string;
  /** Node's compile cache for `wharf agent` (see relaunch.ts); kept across restarts. */
  readonly compileCacheDir: string;
  private tempCounter = 0;

  constructor(prefix: string) {
    if (!/^\/[A-Za-z0-9._\/-]*$/.test(prefix)) {
      throw new Error(`--prefix ${JSON.stringify(prefix)}: expected an absolute path of [A-Za-z0-9._/-] (NGINX reads it unquoted)`);
    }
    this.prefix = prefix.replace(/\/+$/, '') || '/';
    this.runDir = join(this.prefix, 'run');
    this.privateDir = join(this.prefix, 'private');
    this.fragmentsDir = join(this.prefix, 'fragments');
    this.filesDir = join(this.prefix, 'files');
    this.nginxConf = join(this.prefix, 'nginx.conf');
    this.testConf = join(this.prefix, 'nginx-test.conf');
    this.testIncludes = join(this.prefix, 'test-fragments.conf');
    this.versionConf = join(this.prefix, 'version.conf');
    this.upstreamsConf = join(this.prefix, 'upstreams.conf');
    this.pidFile = join(this.runDir, 'nginx.pid');
    this.versionSocket = join(this.runDir, 'nginx-config-version.sock');
    this.statusSocket = join(this.runDir, 'nginx-status.sock');
    this.endpointsSocket = join(this.privateDir, 'endpoints.sock');
    this.keptEndpoints = join(this.privateDir, 'endpoints.kept');
    this.certificatesSocket = join(this.privateDir, 'certificates.sock');
    this.keptCertificates = join(this.privateDir, 'certificates.kept');
    this.certificatesDir = join(this.prefix, 'certificates');
    this.compileCacheDir = join(this.prefix, 'node-compile-cache');
    const longest = this.sockets().reduce((a, b) => (b.length > a.length ? b : a));
    if (Buffer.byteLength(longest) > 107) {
      throw new Error(`--prefix ${this.prefix}: too long for NGINX's unix sockets (${longest} is over the 107-byte limit); use a shorter path`);
    }
  }

  fragmentConf(name: string): string {
    if (!FRAGMENT_NAME.test(name)) throw new Error(`fragment name ${JSON.stringify(name)}: not a valid fragment name`);
    // TCP and UDP services go into the stream {} block, which includes stream-fragments/*.conf.
    if (name.startsWith('_stream-')) return join(this.prefix, 'stream-fragments', `${name}.conf`);
    return join(this.fragmentsDir, `${name}.conf`);
  }

  fragmentFilesDir(name: string): string {
    if (!FRAGMENT_NAME.test(name)) throw new Error(`fragment name ${JSON.stringify(name)}: not a valid fragment name`);
    return join(this.filesDir, name);
  }

  fragmentFile(name: string, file: string): string {
    if (!FILE_NAME.test(file)) throw new Error(`file name ${JSON.stringify(file)} of fragment ${name}: not a valid file name`);
    return join(this.fragmentFilesDir(name), file);
  }

  /** Unix sockets NGINX listens on; a master killed with SIGKILL leaves them behind and the next one
   * cannot bind until they are removed. */
  sockets(): string[] {
    return [this.versionSocket, this.statusSocket, this.endpointsSocket, this.certificatesSocket, join(this.runDir, 'no-endpoints.sock'), join(this.runDir, 'stream-no-endpoints.sock')];
  }

  /**
   * Creates the directories with their modes. What fragments/ and files/ hold stays: it is what the
   * previous agent's NGINX served, and the agent serves it again until the handler tier sends the
   * complete configuration (kept-config.ts).
   */
  async prepare(): Promise<void> {
    await mkdir(this.prefix, { recursive: true });
    // NGINX's workers (an unprivileged user when the master runs as root) must reach run/.
    await chmod(this.prefix, 0o755);
    await mkdir(this.runDir, { recursive: true });
    await chmod(this.runDir, 0o755);
    await mkdir(this.privateDir, { recursive: true });
    await chmod(this.privateDir, 0o700);
    await mkdir(this.fragmentsDir, { recursive: true });
    await mkdir(this.filesDir, { recursive: true, mode: 0o755 });
    await mkdir(this.certificatesDir, { recursive: true, mode: 0o755 });
    for (const f of await readdir(this.prefix)) {
      if (f.startsWith('.wharf-tmp-')) await rm(join(this.prefix, f), { force: true });
    }
  }

  /**
   * Writes `data` to `path` atomically: a temp file in the same directory, then rename. With `owner`,
   * the file belongs to that user before it appears under its name.
   */
  async writeAtomic(path: string, data: string, mode = 0o644, owner: FileOwner | null = null): Promise<void> {
    const dir = path.slice(0, path.lastIndexOf('/'));
    const temp = join(dir, `.wharf-tmp-${process.pid}-${++this.tempCounter}`);
    try {
      await writeFile(temp, data, { mode });
      // writeFile's mode is filtered by the umask and ignored for existing files: set it exactly.
      await chmod(temp, mode);
      if (owner) await chown(temp, owner.uid, owner.gid);
      await rename(temp, path);
    } catch (e) {
      await rm(temp, { force: true });
      throw new Error(`writing ${path}: ${(e as Error).message}`, { cause: e });
    }
  }

  /** writeAtomic without the thread pool: a few system calls that block for tens of microseconds. */
  writeAtomicSync(path: string, data: string, mode = 0o644, owner: FileOwner | null = null): void {
    const dir = path.slice(0, path.lastIndexOf('/'));
    const temp = join(dir, `.wharf-tmp-${process.pid}-${++this.tempCounter}`);
    try {
      const fd = openSync(temp, 'w', mode);
      try {
        const bytes = Buffer.from(data);
        for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done);
        // open's mode is filtered by the umask: set it exactly.
        fchmodSync(fd, mode);
        if (owner) fchownSync(fd, owner.uid, owner.gid);
      } finally {
        closeSync(fd);
      }
      renameSync(temp, path);
    } catch (e) {
      rmSync(temp, { force: true });
      throw new Error(`writing ${path}: ${(e as Error).message}`, { cause: e });
    }
  }

  ensureDirSync(path: string, mode = 0o755): void {
    mkdirSync(path, { recursive: true, mode });
  }

  removeSync(path: string): void {
    rmSync(path, { recursive: true, force: true });
  }

  async ensureDir(path: string, mode = 0o755): Promise<void> {
    await mkdir(path, { recursive: true, mode });
  }

  async remove(path: string): Promise<void> {
    await rm(path, { recursive: true, force: true });
  }

  /** Removes the unix sockets a dead master left behind. */
  async removeStaleSockets(): Promise<void> {
    for (const s of this.sockets()) await unlink(s).catch(() => undefined);
  }
}
