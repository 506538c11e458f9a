/**
 * resilient-ws MCP transports (`resilient-ws/mcp`, docs/mcp.md): MCP over resilient-ws, so
 * a dropped connection loses no request, no response and no progress. Structural types: the
 * MCP SDK (`@modelcontextprotocol/sdk`, an optional peer) is not needed at run time.
 */
export { ResilientClientTransport } from './client-transport.js';
export {
  ResilientServerTransport,
  serveMcp,
  UNDELIVERABLE_RESPONSE,
  type McpHost,
  type McpRouter,
  type McpSessionHost,
  type McpSessionInfo,
  type ServeMcpOptions,
} from './server-transport.js';
export {
  isJsonRpcMessage,
  progressKey,
  type JsonRpcId,
  type JsonRpcMessage,
  type MessageExtra,
} from './json-rpc.js';
