"""Schemathesis in process: the ASGI app against openapi.yaml with every check, on each test database.

A bounded version of `make fuzz` (tests/fuzz/live.sh), fast enough for every `make test`: the same
owner token, pinned user id and isolation probes (tests/fuzz/contract.py), response validation on.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import hypothesis
import pytest
import schemathesis
import yaml
from schemathesis import Case
from schemathesis.core.transport import Response
from schemathesis.specs.openapi.schemas import OpenApiSchema
from sqlalchemy import Engine, text

from handlers.app import SPEC_FILE, create_app
from handlers.core.config import Settings
from tests.fuzz.contract import (
    BearerToken,
    make_isolation_check,
    pin_user_id,
    probe_of,
    probes_for,
    respect_prose_constraints,
)
from tests.support.helpers import token

isolation_is_enforced = make_isolation_check(token)
# Bounded to seconds per database (`make fuzz` is the long run); derandomized so every run sends the same cases.
FAST = hypothesis.settings(
    max_examples=50,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(hypothesis.HealthCheck),
    database=None,
)


class OwnerToken(BearerToken):
    def __init__(self) -> None:
        super().__init__(token)


class CurrentApp:
    """An ASGI app that forwards to the current test's fresh app.

    The schema is loaded once at collection (Schemathesis's `from_fixture` does not work with this
    pytest: it reads a private attribute pytest 9 removed), and `parametrize` copies it, so the
    schema cannot be pointed at each test's app; this stand-in can.
    """

    def __init__(self) -> None:
        self.target: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.target(scope, receive, send)


CURRENT_APP = CurrentApp()


def load_schema() -> OpenApiSchema:
    spec = yaml.safe_load(SPEC_FILE.read_text(encoding="utf-8"))
    pin_user_id(spec)
    loaded = schemathesis.openapi.from_dict(spec)
    loaded.app = CURRENT_APP  # every request, checks' probes included, goes to the current test's app
    loaded.config.update(base_url="http://testserver/api")
    loaded.auth()(OwnerToken)
    return loaded


schema = load_schema()


@pytest.fixture
def app(settings: Settings, engine: Engine) -> Iterator[Any]:
    # One user sends hundreds of writes in seconds here: the rate limit would answer some 429, and the
    # stateful phase would then find the resources those requests did not create missing.
    CURRENT_APP.target = create_app(dataclasses.replace(settings, rate_limit_read="", rate_limit_write=""))
    yield CURRENT_APP.target
    CURRENT_APP.target = None


@schema.parametrize()
@FAST
def test_every_operation_keeps_the_contract(case: Case, app: Any) -> None:
    respect_prose_constraints(case, token)
    case.call_and_validate(additional_checks=[isolation_is_enforced])


@hypothesis.given(case=schema["/{user_id}/tasks/{id}"]["GET"].as_strategy())
@hypothesis.settings(FAST, max_examples=5)
def test_isolation_probes_leave_the_probed_case_valid(case: Case) -> None:
    """A probe's metadata is its own: Schemathesis re-validates a case's metadata against the request
    that reads it, and the engine reads the sent case's frozen, so metadata shared with a probe on
    another user's path ended up "negative" for the valid case too (and the run's warnings then saw no
    valid request of the operation answered)."""
    for _, other_token, path, _ in probes_for(dict(case.path_parameters), token):
        probe = probe_of(case, other_token, path)
        assert probe.path_parameters == path
        assert probe.meta is None or probe.meta is not case.meta
    assert case.meta is not None and case.meta.generation.mode.is_positive


def test_sequences_along_links_keep_the_contract(app: Any, engine: Engine) -> None:
    class Machine(schema.as_state_machine()):
        def setup(self) -> None:
            # Each scenario starts from no tasks: Hypothesis replays a scenario to shrink it and requires
            # the same draws, which the responses (and so the links followed) decide.
            # Ids restart too: they are in the responses, so they decide the draws as well.
            with engine.begin() as conn:
                for table in ("idempotency_keys", "tasks", "tags", "tombstones"):  # deletes write tombstones
                    conn.execute(text(f"DELETE FROM {table}"))  # noqa: S608 (constant names)
                if engine.dialect.name == "sqlite":
                    conn.execute(text("DELETE FROM sqlite_sequence WHERE name IN ('tasks', 'tags')"))
                else:
                    conn.execute(text("ALTER SEQUENCE tasks_id_seq RESTART; ALTER SEQUENCE tags_id_seq RESTART"))

        def before_call(self, case: Case) -> None:
            respect_prose_constraints(case, token)
            super().before_call(case)

        def validate_response(self, response: Response, case: Case, **kwargs: Any) -> None:
            kwargs["additional_checks"] = [isolation_is_enforced]
            super().validate_response(response, case, **kwargs)

    Machine.run(settings=hypothesis.settings(FAST, max_examples=25, stateful_step_count=8))
