export { createApi } from './api.js';
export { requireToken, presentedToken, sameSecret } from './auth.js';
export * from './mcp.js';
export * from './mcp-backend.js';
export { createMcpApiRoutes, MCP_ERROR_STATUS } from './api-mcp-routes.js';
export { startJanitor } from './janitor.js';
export { BackpressureController, startBackpressure, redisSignalSource, BACKPRESSURE_TARGETS, type Signals, type SignalSource, type BackpressureOptions, type BackpressureTarget } from './backpressure.js';
