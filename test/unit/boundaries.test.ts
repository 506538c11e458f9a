/**
 * The dependency direction is enforced by eslint, not by hope: these cases show the rule
 * firing for imports that go the wrong way and staying quiet for the right ones.
 */
import { Linter } from 'eslint';
import tseslint from 'typescript-eslint';
import { describe, expect, it } from 'vitest';
// @ts-expect-error -- the eslint config is plain JavaScript without types
import { boundaryConfigs } from '../../eslint.config.js';

const linter = new Linter({ configType: 'flat' });
const config = [
  { files: ['**/*.ts'], languageOptions: { parser: tseslint.parser } },
  ...(boundaryConfigs as Linter.Config[]),
];

function errors(file: string, code: string): string[] {
  return linter.verify(code, config, file).map((m) => m.ruleId ?? m.message);
}

describe('dependency direction (eslint no-restricted-imports)', () => {
  it.each([
    ['src/store/x.ts', "import { Hub } from '../session/hub.js';"],
    ['src/store/x.ts', "import { Outbox } from '../outbox/outbox.js';"],
    ['src/outbox/x.ts', "import { Hub } from '../session/hub.js';"],
    ['src/session/x.ts', "import { WsEndpoint } from '../transport/endpoint.js';"],
    ['src/session/x.ts', "import { WebSocket } from 'ws';"],
    ['src/session/x.ts', "import { Registry } from '../metrics/registry.js';"],
    ['src/transport/x.ts', "import { createServer } from '../server/server.js';"],
    ['src/protocol/x.ts', "import { RwsError } from '../errors.js';"],
    ['src/resilience/x.ts', "import { Hub } from '../session/hub.js';"],
    ['src/resilience/x.ts', "import type { Store } from '../store/store.js';"],
    ['src/resilience/x.ts', "import { createServer } from '../server/server.js';"],
    ['src/resilience/x.ts', "import { readFileSync } from 'node:fs';"],
    ['src/resilience/x.ts', "import type { CoreEvents } from '../core-events.js';"],
    ['src/protocol/x.ts', "import { randomBytes } from 'node:crypto';"],
    ['src/upstream/x.ts', "import { createServer } from '../server/server.js';"],
    ['src/clock.ts', "import { Hub } from './session/hub.js';"],
    ['client/x.ts', "import { Hub } from '../src/session/hub.js';"],
    ['client/x.ts', "import { randomBytes } from 'node:crypto';"],
    ['src/auth/x.ts', "import type { Hub } from '../session/hub.js';"],
    ['src/auth/x.ts', "import { createServer } from '../server/server.js';"],
    ['mcp/x.ts', "import { Hub } from '../src/session/hub.js';"],
    ['mcp/x.ts', "import { createServer } from '../src/index.js';"],
    ['mcp/x.ts', "import { Connection } from '../client/connection.js';"],
    ['mcp/x.ts', "import { randomBytes } from 'node:crypto';"],
  ])('%s: %s is refused', (file, code) => {
    expect(errors(file, code)).toContain('no-restricted-imports');
  });

  it.each([
    ['src/session/x.ts', "import { Outbox } from '../outbox/outbox.js';"],
    ['src/outbox/x.ts', "import type { Store } from '../store/store.js';"],
    ['src/transport/x.ts', "import { WebSocket } from 'ws';"],
    ['src/transport/x.ts', "import type { Hub } from '../session/hub.js';"],
    ['src/server/x.ts', "import { Registry } from '../metrics/registry.js';"],
    ['src/store/x.ts', "import { RwsError } from '../errors.js';"],
    ['client/x.ts', "import { encodeFrame } from '../src/protocol/index.js';"],
    ['client/x.ts', "import { Backoff } from '../src/resilience/backoff.js';"],
    ['src/resilience/x.ts', "import { RwsError } from '../errors.js';"],
    ['src/resilience/x.ts', "import { Emitter } from '../events.js';"],
    ['client/x.ts', "import { CircuitBreaker } from '../src/resilience/index.js';"],
    ['src/metrics/x.ts', "import type { StateChange } from '../resilience/index.js';"],
    ['src/upstream/x.ts', "import { CircuitBreaker } from '../resilience/circuit-breaker.js';"],
    ['src/upstream/x.ts', "import type { Hub } from '../session/hub.js';"],
    ['src/session/x.ts', "import { AuthError } from '../auth/principal.js';"],
    ['src/auth/x.ts', "import type { ResolvedConfig } from '../config/index.js';"],
    ['mcp/x.ts', "import type { RwsServer } from '../src/index.js';"],
    ['mcp/x.ts', "import { ResilientClient } from '../client/index.js';"],
    ['mcp/x.ts', "import { NackError } from '../src/session/client-messages.js';"],
    ['mcp/x.ts', "import { isRwsError } from '../src/errors.js';"],
    ['mcp/x.ts', "import { MAX_ID_LENGTH } from '../src/protocol/index.js';"],
    ['mcp/cli/x.ts', "import { createServer } from '../../src/index.js';"],
  ])('%s: %s is allowed', (file, code) => {
    expect(errors(file, code)).toEqual([]);
  });
});
