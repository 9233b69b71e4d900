"""The methodology library: versions, factors with their sources, rules, caps, hashes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from api import examples as ex
from api.errors import ApiError
from api.routes import problem_responses
from api.schemas import Factor, MethodologyDetail, MethodologySummary
from registry.methodologies import CATALOGUE
from registry.methodologies.base import Methodology

router = APIRouter(
    prefix="/v1/methodologies", tags=["methodologies"], responses=problem_responses()
)

SUMMARY = {
    "id": "SZ_TRANSIT",
    "version": "1.0",
    "family": "travel",
    "region": "440300",
    "title_en": "Shenzhen low-carbon public transport trips",
    "title_zh": "深圳市低碳公共交通出行",
    "hash": "ab" * 32,
}


def _summary(md: Methodology) -> MethodologySummary:
    return MethodologySummary(
        id=md.id,
        version=md.version,
        family=md.family,
        region=md.region,
        title_en=md.title_en,
        title_zh=md.title_zh,
        hash=md.hash(),
    )


@router.get(
    "",
    response_model=list[MethodologySummary],
    summary="Every methodology version with its family, region and hash",
    responses=ex.ok([SUMMARY]),
)
def list_methodologies() -> list[MethodologySummary]:
    return [_summary(md) for md in CATALOGUE.values()]


@router.get(
    "/{methodology_id}/{version}",
    response_model=MethodologyDetail,
    summary="One methodology version: parameters, emission factors with sources, rules, caps",
    responses=ex.ok(
        {
            **SUMMARY,
            "source": "Shenzhen carbon inclusion methodology for public transport (2023)",
            "quantities": {"metro_m": "m", "bus_m": "m"},
            "factors": {
                "baseline_car": {"mg_per_unit": "1331/10", "unit": "mg/m", "source": "..."}
            },
            "parameters": {"cap_per_activity_g": 5_000},
        }
    ),
)
def get_methodology(
    methodology_id: Annotated[str, Path(pattern=r"^[A-Z0-9_]{1,40}$")],
    version: Annotated[str, Path(pattern=r"^[0-9]{1,4}(\.[0-9]{1,4}){0,2}$")],
) -> MethodologyDetail:
    md = CATALOGUE.get((methodology_id, version))
    if md is None:
        raise ApiError("unknown_methodology", f"no methodology {methodology_id} version {version}")
    return MethodologyDetail(
        **_summary(md).model_dump(),
        source=md.source,
        quantities={q: unit for q, unit in md.quantities},
        factors={name: Factor(**f.canonical()) for name, f in md.factors.items()},
        parameters=md.parameters(),
    )
