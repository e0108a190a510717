"""`nosniff` everywhere and `no-store` on everything but the docs."""

from __future__ import annotations

from starlette.testclient import TestClient

from tests.support.helpers import auth, create_task

JSON = {"Content-Type": "application/json"}


def test_every_task_response_is_nosniff_and_no_store(client: TestClient) -> None:
    task = create_task(client)
    path = f"/api/alice/tasks/{task['id']}"
    responses = [
        client.get("/api/alice/tasks", headers=auth()),
        client.get(path, headers=auth()),
        client.put(path, json={"title": "y"}, headers=auth()),
        client.patch(f"{path}/complete", headers=auth()),
        client.delete(path, headers=auth()),
        client.get(path, headers=auth()),  # 404
        client.get("/api/alice/tasks"),  # 401
        client.get("/api/bob/tasks", headers=auth()),  # 403
        client.get("/api/alice/tasks?limit=501", headers=auth()),  # 400
        client.post("/api/alice/tasks", content=b"x" * 70_000, headers={**auth(), **JSON}),  # 413
        client.get("/api/health"),
        client.get("/api/nowhere"),
    ]
    assert [r.status_code for r in responses] == [200, 200, 200, 200, 204, 404, 401, 403, 400, 413, 200, 404]
    for response in responses:
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["cache-control"] == "no-store"
        assert "server" not in response.headers


def test_the_docs_may_be_cached(client: TestClient) -> None:
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers.get("cache-control") != "no-store"


def test_a_user_id_starting_like_the_docs_paths_still_gets_no_store(client: TestClient) -> None:
    for user in ("uiZ7kq", "openapi.jsonX"):
        response = client.get(f"/api/{user}/tasks", headers=auth(user))
        assert response.status_code == 200
        assert response.headers["cache-control"] == "no-store"
