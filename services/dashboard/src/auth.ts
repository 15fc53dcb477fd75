import { timingSafeEqual, createHash } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';

const digest = (s: string) => createHash('sha256').update(s).digest();

/** Constant-time comparison (hashing first makes the lengths equal). */
export const sameSecret = (a: string, b: string): boolean => timingSafeEqual(digest(a), digest(b));

/** The token from `Authorization: Bearer <t>` or the password of HTTP Basic auth (so a browser can log in). */
export function presentedToken(header: string | undefined): string | null {
  if (!header) return null;
  const [scheme, value] = header.split(' ', 2);
  if (!value) return null;
  if (scheme?.toLowerCase() === 'bearer') return value.trim();
  if (scheme?.toLowerCase() === 'basic') {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return colon >= 0 ? decoded.slice(colon + 1) : null;
  }
  return null;
}

/** DESIGN §9: /api and /ui need the token; state-changing requests need a same-origin Origin or none. */
export function requireToken(token: string) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const presented = presentedToken(req.headers.authorization);
    if (!presented || !sameSecret(presented, token)) {
      res.setHeader('WWW-Authenticate', 'Basic realm="graphrag-ingest", charset="UTF-8"');
      res.status(401).json({ code: 'UNAUTHORIZED', message: 'a valid token is required (Bearer, or the password of Basic auth)' });
      return;
    }
    const origin = req.headers.origin;
    if (req.method !== 'GET' && req.method !== 'HEAD' && origin && origin !== `${req.protocol}://${req.headers.host}`) {
      res.status(403).json({ code: 'FORBIDDEN_ORIGIN', message: 'state-changing requests must come from the same origin' });
      return;
    }
    next();
  };
}
