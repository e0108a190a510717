// A minimal Better Auth instance: memory adapter, email+password, the jwt plugin with default options.
import http from "node:http";
import { betterAuth } from "better-auth";
import { memoryAdapter } from "better-auth/adapters/memory";
import { jwt } from "better-auth/plugins";
import { toNodeHandler } from "better-auth/node";

const port = Number(process.env.PORT || 8390);
const baseURL = process.env.BETTER_AUTH_URL || `http://127.0.0.1:${port}`;
const db = { user: [], session: [], account: [], verification: [], jwks: [] };
const auth = betterAuth({
  baseURL,
  secret: process.env.BETTER_AUTH_SECRET || "interop-secret-" + "x".repeat(40),
  database: memoryAdapter(db),
  emailAndPassword: { enabled: true },
  plugins: [jwt()],
  telemetry: { enabled: false },
});
http.createServer(toNodeHandler(auth)).listen(port, "127.0.0.1", () => console.log(`better-auth on ${baseURL}`));
