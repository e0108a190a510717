// `make client-live`: the client generated from openapi.yaml (openapi-typescript + openapi-fetch) RUNS
// against the live service (tests/live-server gives API_BASE, ALICE_TOKEN, BOB_TOKEN), and every response
// is checked at run time against the shape its generated type promises: exact keys, nullable fields,
// date-time strings, the bare array of the list. The shape tables are typed by the generated types, so
// a field added to the spec fails the compile until it is checked here too.
import createClient from "openapi-fetch";
import type { components, paths } from "./generated/task-api";

declare const process: { env: Record<string, string | undefined>; exit(code: number): never }; // Node's

type Task = components["schemas"]["Task"];
type ListQuery = NonNullable<paths["/{user_id}/tasks"]["get"]["parameters"]["query"]>;
type Problem = components["schemas"]["Problem"];
type Check = (value: unknown) => boolean;

const API_BASE = env("API_BASE");
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
const isString: Check = (v) => typeof v === "string";
const isDateTime: Check = (v) => typeof v === "string" && DATE_TIME.test(v) && !Number.isNaN(Date.parse(v));
const isInt: Check = (v) => Number.isSafeInteger(v);
const nullable = (check: Check): Check => (v) => v === null || check(v);
const oneOf = (...choices: unknown[]): Check => (v) => choices.includes(v);

const TASK: { [K in keyof Required<Task>]: Check } = {
  id: isInt,
  user_id: isString,
  title: isString,
  description: nullable(isString),
  completed: (v) => typeof v === "boolean",
  priority: oneOf("none", "low", "medium", "high", "urgent"),
  category: nullable(isString),
  tags: Array.isArray,
  due_date: nullable(isDateTime),
  reminder_at: nullable(isDateTime),
  recurrence_rule: nullable(isString),
  next_occurrence_id: nullable(isInt),
  client_id: nullable(isString),
  version: (v) => Number.isSafeInteger(v) && (v as number) >= 1,
  completed_at: nullable(isDateTime),
  created_at: isDateTime,
  updated_at: isDateTime,
};
const PROBLEM_REQUIRED: (keyof Problem)[] = ["type", "title", "status", "detail"];

function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set (run through tests/live-server)`);
  return value;
}

function assert(ok: unknown, message: string): asserts ok {
  if (!ok) throw new Error(message);
}

function checkTask(value: unknown, where: string): Task {
  assert(typeof value === "object" && value !== null && !Array.isArray(value), `${where}: not an object`);
  const record = value as Record<string, unknown>;
  const expected = Object.keys(TASK).sort().join(",");
  assert(Object.keys(record).sort().join(",") === expected, `${where}: keys ${Object.keys(record)} != ${expected}`);
  for (const [key, check] of Object.entries(TASK)) {
    assert(check(record[key]), `${where}: ${key} = ${JSON.stringify(record[key])} is not what the type says`);
  }
  return value as Task;
}

function checkProblem(value: unknown, status: number, where: string): Problem {
  const problem = value as Problem;
  for (const key of PROBLEM_REQUIRED) assert(problem[key] !== undefined, `${where}: problem lacks ${key}`);
  assert(problem.status === status, `${where}: problem status ${problem.status}, expected ${status}`);
  assert(status !== 400 || (problem.errors?.length ?? 0) > 0, `${where}: a 400 without errors`);
  return problem;
}

function client(token?: string) {
  const headers: Record<string, string> = token ? { Authorization: `Bearer ${token}` } : {};
  return createClient<paths>({ baseUrl: API_BASE, headers });
}

function nextQuery(link: string | null): Record<string, string> | null {
  // RFC 8288: `</api/alice/tasks?limit=2&offset=2>; rel="next"` (root-relative, other parameters kept)
  const next = link?.split(",").find((part) => /rel="next"/.test(part));
  const url = next?.match(/<([^>]+)>/)?.[1];
  if (!url) return null;
  const query: Record<string, string> = {};
  new URL(url, API_BASE).searchParams.forEach((value, key) => (query[key] = value));
  return query;
}

async function main(): Promise<void> {
  const alice = client(env("ALICE_TOKEN"));
  const user_id = "alice";
  const path = { user_id };

  const made = await alice.POST("/{user_id}/tasks", {
    params: { path },
    body: { title: "  Buy milk  ", priority: "high", due_date: "2026-12-01", category: "errands" },
  });
  assert(made.response.status === 201 && made.data, `create: ${made.response.status}`);
  const task = checkTask(made.data, "create");
  assert(task.title === "Buy milk" && task.due_date === "2026-12-01T00:00:00+00:00", `create: ${JSON.stringify(task)}`);
  assert(made.response.headers.get("Location") === `/api/alice/tasks/${task.id}`, "create: Location");
  for (const title of ["Walk the dog", "Write the report", "Call mum", "Buy bread"]) {
    const more = await alice.POST("/{user_id}/tasks", { params: { path }, body: { title, priority: "high" } });
    checkTask(more.data, `create ${title}`);
  }

  // Filters and paging: high-priority pending tasks, two per page, following Link until it ends.
  const seen: number[] = [];
  let query: Record<string, string> | null = { status: "pending", priority: "high", limit: "2" };
  let total = -1;
  while (query) {
    const page = await alice.GET("/{user_id}/tasks", {
      // The Link URL's parameters, as strings; openapi-fetch writes them back into the query string.
      params: { path, query: query as unknown as ListQuery },
    });
    assert(page.response.status === 200 && Array.isArray(page.data), `list: ${page.response.status}, not an array`);
    page.data.forEach((item, i) => seen.push(checkTask(item, `list[${i}]`).id));
    total = Number(page.response.headers.get("X-Total-Count"));
    query = nextQuery(page.response.headers.get("Link"));
  }
  assert(total === 5 && seen.length === 5 && new Set(seen).size === 5, `paging: total ${total}, saw ${seen}`);
  const buys = await alice.GET("/{user_id}/tasks", { params: { path, query: { q: "buy", sort: "title" } } });
  assert(buys.data?.map((t) => t.title).join() === "Buy bread,Buy milk", `q+sort: ${JSON.stringify(buys.data)}`);

  const taskPath = { user_id, id: task.id };
  const got = await alice.GET("/{user_id}/tasks/{id}", { params: { path: taskPath } });
  assert(JSON.stringify(checkTask(got.data, "get")) === JSON.stringify(task), "get: not the created task");

  const put = await alice.PUT("/{user_id}/tasks/{id}", {
    params: { path: taskPath },
    body: { description: "Two litres", due_date: null },
  });
  const updated = checkTask(put.data, "update");
  assert(updated.description === "Two litres" && updated.due_date === null, `update: ${JSON.stringify(updated)}`);

  const done = await alice.PATCH("/{user_id}/tasks/{id}/complete", { params: { path: taskPath }, body: {} });
  const completed = checkTask(done.data, "complete");
  assert(completed.completed && completed.completed_at !== null, `complete: ${JSON.stringify(completed)}`);

  const deleted = await alice.DELETE("/{user_id}/tasks/{id}", { params: { path: taskPath } });
  assert(deleted.response.status === 204, `delete: ${deleted.response.status}`);

  // The errors a frontend must handle, each a problem of its declared shape.
  const gone = await alice.GET("/{user_id}/tasks/{id}", { params: { path: taskPath } });
  checkProblem(gone.error, 404, "get deleted");
  const blank = await alice.POST("/{user_id}/tasks", { params: { path }, body: { title: "   " } });
  const invalid = checkProblem(blank.error, 400, "blank title");
  assert(invalid.errors?.[0]?.pointer === "#/title", `400: ${JSON.stringify(invalid)}`);
  const paging = await alice.GET("/{user_id}/tasks", { params: { path, query: { limit: 0 } } });
  assert(checkProblem(paging.error, 400, "limit 0").errors?.[0]?.parameter === "limit", "400: parameter");
  const anonymous = await client().GET("/{user_id}/tasks", { params: { path } });
  checkProblem(anonymous.error, 401, "no token");
  assert(anonymous.response.headers.get("WWW-Authenticate")?.startsWith("Bearer"), "401: WWW-Authenticate");
  const foreign = await client(env("BOB_TOKEN")).GET("/{user_id}/tasks", { params: { path } });
  checkProblem(foreign.error, 403, "another user's id");

  console.log("typescript client: create, list (filters, Link paging), get, update, complete, delete, 400/401/403/404 ok");
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
