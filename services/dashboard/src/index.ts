export { createApi } from './api.js';
export { requireToken, presentedToken, sameSecret } from './auth.js';
export * from './mcp.js';
export * from './mcp-backend.js';
export { createMcpApiRoutes, MCP_ERROR_STATUS } from './api-mcp-routes.js';
export { startJanitor } from './janitor.js';
