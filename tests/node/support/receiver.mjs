// A real local HTTP webhook receiver that keeps every request it gets.
import http from 'node:http';

import { waitFor } from './server.mjs';

export class Receiver {
  /** `status`: what every request is answered with (200, or e.g. 400 to make deliveries fail for good). */
  constructor({ status = 200 } = {}) {
    this.received = [];
    this.server = http.createServer((request, response) => {
      const chunks = [];
      request.on('data', (chunk) => chunks.push(chunk));
      request.on('end', () => {
        this.received.push({ headers: request.headers, body: Buffer.concat(chunks).toString('utf8') });
        response.writeHead(status).end(status < 300 ? 'ok' : 'refused by the test receiver');
      });
    });
  }

  async start() {
    await new Promise((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return this;
  }

  get url() {
    return `http://127.0.0.1:${this.server.address().port}/hook`;
  }

  /** The requests whose JSON body has this event_type (and passes `match`), once there are `count`. */
  async events(eventType, { count = 1, match = () => true, timeoutMs = 20_000 } = {}) {
    return waitFor(
      `${count} ${eventType} webhook(s)`,
      () => {
        const found = this.received.filter((hit) => {
          const body = JSON.parse(hit.body);
          return body.event_type === eventType && match(body);
        });
        return found.length >= count ? found : null;
      },
      { timeoutMs },
    );
  }

  async stop() {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}
