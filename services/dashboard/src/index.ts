export { createApi } from './api.js';
export { requireToken, presentedToken, sameSecret } from './auth.js';
