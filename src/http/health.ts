// Public liveness endpoint: a version and nothing else (no data, no configuration).
import { Hono } from "hono";
import { APP_VERSION } from "../version";

export const healthRoutes = new Hono<{ Bindings: Env }>();

healthRoutes.get("/api/health", (c) => c.json({ ok: true, version: APP_VERSION }));
