// Security headers on every response but the model gateway's. helmet builds its middleware once
// here: @fastify/helmet rebuilt it (and re-parsed the CSP) on every request, ~0.1 ms each.
import type { FastifyInstance } from "fastify";
import helmet from "helmet";

declare module "fastify" {
  interface FastifyContextConfig {
    /** false: answer without browser security headers (the model gateway's answers are the model API's own). */
    securityHeaders?: boolean;
  }
}

export function registerSecurityHeaders(app: FastifyInstance): void {
  const apply = helmet({
    // The API answers JSON; the HTML pages (/docs) run their own inline bootstrap script.
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'", "'unsafe-inline'"],
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", "data:"],
        fontSrc: ["'self'", "data:"],
        connectSrc: ["'self'"],
      },
    },
  });
  app.addHook("onRequest", (req, reply, done) => {
    if (req.routeOptions.config?.securityHeaders === false) return done();
    apply(req.raw, reply.raw, (err?: unknown) => done(err as Error | undefined));
  });
}
