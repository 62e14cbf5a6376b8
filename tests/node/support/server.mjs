// A real linq-server process (the project's own Python package) on a free port with a fresh SQLite database.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, openSync, readFileSync, closeSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
// `make test` passes the venv's interpreter; run by hand, the repository's .venv is used.
const python = process.env.LINQ_SERVER_PYTHON || path.join(repoRoot, '.venv/bin/python');

export function freePort() {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

let serial = Math.floor(Math.random() * 700_000) + 200_000;

/** A unique US number; the last digit picks what the sandbox handle can receive (0-5: iPhone). */
export function newPhone(lastDigit = 1) {
  serial += 1;
  return `+1415${String(serial).padStart(6, '0')}${lastDigit}`;
}

export async function waitFor(what, check, { timeoutMs = 20_000, intervalMs = 50 } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await check();
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

export class LinqServer {
  constructor() {
    this.dir = mkdtempSync(path.join(tmpdir(), 'linq-server-node-'));
    this.apiKey = `linq_sk_${randomBytes(32).toString('base64url')}`;
    this.lines = [newPhone(0), newPhone(0)];
    this.port = null;
    this.process = null;
    this.logPath = path.join(this.dir, 'server.log');
  }

  get url() {
    return `http://127.0.0.1:${this.port}`;
  }

  get apiURL() {
    return `${this.url}/api/partner`;
  }

  /** The environment that points the Linq CLI at this server, as `make run` prints it. */
  cliEnv() {
    return {
      LINQ_API_URL: this.apiURL,
      LINQ_RELAY_WS_URL: `ws://127.0.0.1:${this.port}/relay-ws`,
      LINQ_RELAY_URL: this.url,
      LINQ_LOGS_URL: `${this.url}/api`,
    };
  }

  /** Starts the server (again on the same port and database after a stop) and waits until it is healthy. */
  async start() {
    this.port ??= await freePort();
    const log = openSync(this.logPath, 'a');
    this.process = spawn(python, ['-m', 'linq_server', 'serve', '--host', '127.0.0.1', '--port', String(this.port)], {
      cwd: this.dir,
      env: {
        ...process.env,
        LINQ_SERVER_DATABASE_URL: `sqlite:///${path.join(this.dir, 'linq.db')}`,
        LINQ_SERVER_DATA_DIR: path.join(this.dir, 'data'),
        LINQ_SERVER_API_KEY: this.apiKey,
        LINQ_SERVER_PHONE_NUMBERS: this.lines.join(','),
      },
      stdio: ['ignore', log, log],
    });
    closeSync(log);
    const exited = new Promise((resolve) => this.process.once('exit', resolve));
    this.exited = exited;
    await waitFor(
      'linq-server to become healthy',
      async () => {
        if (this.process.exitCode !== null) throw new Error(`linq-server exited early:\n${this.log()}`);
        try {
          return (await fetch(`${this.url}/healthz`)).ok;
        } catch {
          return false;
        }
      },
      { timeoutMs: 60_000 }, // generous: CI machines are shared
    );
    return this;
  }

  log() {
    try {
      return readFileSync(this.logPath, 'utf8');
    } catch {
      return '';
    }
  }

  async stop() {
    if (!this.process || this.process.exitCode !== null) return;
    this.process.kill('SIGTERM');
    const killer = setTimeout(() => this.process.kill('SIGKILL'), 15_000);
    await this.exited;
    clearTimeout(killer);
  }
}
