"""schemathesis over the OpenAPI document, with a valid hr key (which may call every route):
no 5xx, and every response matches the documented status codes, media types, headers and
schemas. Examples, coverage and fuzzing phases; fuzzing generates valid and invalid data.

Bounded so the API suite stays fast: 10 fuzzed examples per operation and the coverage phase's
schema-valid cases only. INCENTIVE_SCHEMATHESIS_EXAMPLES=N raises the first;
INCENTIVE_SCHEMATHESIS_FULL=1 adds the coverage phase's invalid cases (several hundred more
requests per POST route). Runs on SQLite only (the database is not what it probes).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.app import create_app
from api.settings import Settings
from tests.api_support import auth, sqlite_url

pytest_plugins = ["tests.api_fixtures"]
EXAMPLES = int(os.environ.get("INCENTIVE_SCHEMATHESIS_EXAMPLES", "10"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]

# the document only (building the app touches no database); each test calls an app of its own
schema = schemathesis.openapi.from_dict(create_app(Settings(database_url="sqlite://")).openapi())
if os.environ.get("INCENTIVE_SCHEMATHESIS_FULL") != "1":
    schema.config.phases.coverage.generation.modes = [GenerationMode.POSITIVE]


@pytest.fixture
def db_url(tmp_path: Path) -> str:  # overrides the two-backend fixture: SQLite only here
    return sqlite_url(tmp_path)


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_openapi_conformance(case: Any, app: FastAPI, keys: dict[str, str]) -> None:
    case.call_and_validate(app=app, headers={**auth(keys["hr"]), "Idempotency-Key": "schemathesis"}, checks=CHECKS)
