"""The hall as the allocator sees it: the booth grid file and the zones' area budgets from the programme."""

import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from services.exhibits.domain.allocation import Booth, Hall
from shared.programme import Programme


class BoothRow(BaseModel):
    """One row of the grid file: `count` equal booths named <zone><prefix><nn>."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    zone: int
    prefix: str = Field(pattern=r"^[A-Z][A-Z0-9]*$")
    block: str | None = None
    count: int = Field(ge=1, le=999)
    size_m2: float = Field(gt=0)
    power_kw: float = Field(ge=0)
    network: bool


class BoothGrid(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    rows: list[BoothRow]


def load_booths(path: Path) -> dict[str, Booth]:
    """Every booth of the grid file by id (ValueError on a bad file or a duplicate id)."""
    with path.open("rb") as f:
        grid = BoothGrid.model_validate(tomllib.load(f))
    booths: dict[str, Booth] = {}
    for row in grid.rows:
        for n in range(1, row.count + 1):
            booth_id = f"{row.zone}{row.prefix}{n:02d}"
            if booth_id in booths:
                raise ValueError(f"duplicate booth id {booth_id} in {path}")
            block = row.block or row.prefix
            booths[booth_id] = Booth(booth_id, row.zone, block, row.size_m2, row.power_kw, row.network)
    return booths


def build_hall(programme: Programme, booths: dict[str, Booth], city_cap: int) -> Hall:
    zones = programme.exhibition.zones
    unknown = {b.zone for b in booths.values()} - {z.id for z in zones}
    if unknown:
        raise ValueError(f"booths in zones the programme does not have: {sorted(unknown)}")
    return Hall(
        booths=booths,
        zone_area_m2={z.id: z.area_m2 for z in zones},
        industry_zones=frozenset(z.id for z in zones if z.industries),
        city_cap=city_cap,
    )
