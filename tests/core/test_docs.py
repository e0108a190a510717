"""The spec served as written, Swagger UI set up for a newcomer, and the base URL leading somewhere."""

from __future__ import annotations

from typing import Any

import yaml
from starlette.testclient import TestClient

from tests.support.databases import ROOT
from tests.support.helpers import auth

SPEC_TEXT = (ROOT / "openapi.yaml").read_text(encoding="utf-8")
SPEC: dict[str, Any] = yaml.safe_load(SPEC_TEXT)


def resolve(node: dict[str, Any]) -> dict[str, Any]:
    """A `$ref` followed to what it names (the spec's refs are all local)."""
    while "$ref" in node:
        target: Any = SPEC
        for part in str(node["$ref"]).removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def test_the_served_json_is_the_written_spec(client: TestClient) -> None:
    served = client.get("/api/openapi.json")
    assert served.headers["content-type"] == "application/json"
    assert served.json() == SPEC
    assert '"$ref":"#/components/schemas/Task"' in served.text  # named schemas intact, for generators


def test_the_served_yaml_is_the_file(client: TestClient) -> None:
    served = client.get("/api/openapi.yaml")
    assert served.status_code == 200
    assert served.text == SPEC_TEXT


def test_the_base_url_leads_to_swagger_ui(client: TestClient) -> None:
    for path in ("/api", "/api/"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 302
        assert response.headers["location"] == "/api/ui/"
    assert client.get("/api").status_code == 200  # followed: the Swagger UI page


def test_swagger_ui_keeps_the_token(client: TestClient) -> None:
    assert client.get("/api/ui/swagger-ui-config.json").json()["persistAuthorization"] is True


def test_the_bearer_scheme_says_to_paste_the_token_alone() -> None:
    assert "without `Bearer `" in SPEC["components"]["securitySchemes"]["bearerAuth"]["description"]


def test_pasting_bearer_twice_gets_a_hint(client: TestClient) -> None:
    response = client.get("/api/alice/tasks", headers={"Authorization": "Bearer " + auth()["Authorization"]})
    assert response.status_code == 401
    assert "paste the token without Bearer" in response.json()["detail"]


def test_every_error_response_has_its_own_example() -> None:
    problems = {
        name: response["content"]["application/problem+json"]
        for name, response in SPEC["components"]["responses"].items()
        if "application/problem+json" in response.get("content", {})
    }
    for name, content in problems.items():
        example = content.get("example", {})
        assert {"type", "title", "status", "detail"} <= set(example), name
        assert ("errors" in example) == (example["status"] == 400), name
    statuses = {content["example"]["status"] for content in problems.values()}
    assert len(statuses) == len(problems)  # no example shared between statuses
    assert "example" not in str(SPEC["components"]["schemas"]["Problem"])


def test_try_it_out_prefills_only_defaults() -> None:
    """Swagger UI fills a parameter with its example: only a parameter's default may be pre-filled."""
    for item in SPEC["paths"].values():
        parameters = [*item.get("parameters", [])]
        parameters += [p for op in item.values() if isinstance(op, dict) for p in op.get("parameters", [])]
        for parameter in parameters:
            parameter = resolve(parameter)
            schema = resolve(parameter["schema"])
            assert "example" not in parameter and "examples" not in parameter, parameter["name"]
            assert schema.get("example", schema.get("default")) == schema.get("default"), parameter["name"]
