"""Simulations: compute a period under a rule set and scenario patches; nothing is stored."""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Body, Depends
from fastapi.responses import Response

from .. import examples
from ..openapi_docs import AUTH, errors
from ..routing import DecimalJSONRoute
from ..schemas import SimulationIn, SimulationOut
from ..security import MANAGER, require
from ..service import simulate
from ..store import KeyInfo

router = APIRouter(prefix="/v1/simulations", tags=["simulations"], route_class=DecimalJSONRoute)


@router.post("", response_model=SimulationOut, responses=errors(*AUTH),
             summary="compute a period (and scenarios with patched rules) without storing anything")
def post_simulation(body: Annotated[SimulationIn, Body(openapi_examples=examples.SIMULATION_EXAMPLES)],
                    _key: Annotated[KeyInfo, Depends(require(MANAGER))]) -> Response:
    out = simulate(body.input, body.rules, [(s.name, s.rules_patch) for s in body.scenarios])
    return Response(orjson.dumps(out), media_type="application/json")
