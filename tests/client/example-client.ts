// A frontend's view of the task API, typed from openapi.yaml: `npm run generate` writes
// generated/task-api.d.ts, and `npm run typecheck` fails if this file no longer matches the contract.
import createClient from "openapi-fetch";
import type { components, paths } from "./generated/task-api";

type Task = components["schemas"]["Task"];
type Problem = components["schemas"]["Problem"];

export function taskApi(baseUrl: string, jwt: string) {
  // The spec's server is `/api`, so paths below are relative to it.
  return createClient<paths>({ baseUrl: `${baseUrl}/api`, headers: { Authorization: `Bearer ${jwt}` } });
}

type TaskApi = ReturnType<typeof taskApi>;

function fail(problem: Problem): never {
  throw new Error(`${problem.status} ${problem.title}: ${problem.detail}`);
}

export async function listPending(api: TaskApi, userId: string): Promise<Task[]> {
  const { data, error, response } = await api.GET("/{user_id}/tasks", {
    params: { path: { user_id: userId }, query: { status: "pending", sort: "-priority,due_date", limit: 50 } },
  });
  if (error) fail(error);
  console.log(`${response.headers.get("X-Total-Count")} pending in all`);
  return data;
}

export async function walkThrough(api: TaskApi, userId: string): Promise<void> {
  const path = { user_id: userId };
  const created = await api.POST("/{user_id}/tasks", {
    params: { path },
    body: { title: "Buy milk", priority: "high", due_date: "2026-12-01T17:00:00+00:00" },
  });
  if (created.error) fail(created.error);
  const task: Task = created.data;
  const taskPath = { user_id: userId, id: task.id };

  const updated = await api.PUT("/{user_id}/tasks/{id}", {
    params: { path: taskPath },
    body: { description: "Two litres", due_date: null },
  });
  if (updated.error) fail(updated.error);

  const completed = await api.PATCH("/{user_id}/tasks/{id}/complete", {
    params: { path: taskPath },
    body: { completed: true },
  });
  if (completed.error) fail(completed.error);
  const completedAt: string | null = completed.data.completed_at;
  console.log(`completed at ${completedAt}`);

  const fetched = await api.GET("/{user_id}/tasks/{id}", { params: { path: taskPath } });
  if (fetched.error) fail(fetched.error);

  const deleted = await api.DELETE("/{user_id}/tasks/{id}", { params: { path: taskPath } });
  if (deleted.error) fail(deleted.error);
  console.log(`deleted with status ${deleted.response.status}`);

  console.log(await listPending(api, userId));
}
