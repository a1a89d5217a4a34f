"""The emulator's catalogue: number groups, their costs, and the numbers each can rent.

Costs are satoshis, of the magnitude the original client's docs show (cz-mobile:
setup 32093, 269 a minute, 601 per inbound SMS). Numbers come from ranges set
aside for fiction and testing where a country has them (Ofcom's 07700 900xxx,
the North American 555-01xx, ARCEP's 01 99 00, ACMA's 02 5550, PTS's 070-17406,
the German "Drama" 030 23125); elsewhere from plausible ranges of the right
length. Either way they are valid E.164 numbers of the group's country.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from pydantic import ConfigDict, Field

from .._models import BaseGroup

__all__ = ["GROUPS", "GroupSpec", "NumberRange", "find_group"]


@dataclass(frozen=True)
class NumberRange:
    """Consecutive numbers: E.164 digits `prefix`, then `first`..`last` zero-padded to `width`."""

    prefix: str
    width: int
    first: int
    last: int

    def numbers(self, limit: int | None = None) -> list[str]:
        """Its numbers in order, the first `limit` of them when given."""
        last = self.last if limit is None else min(self.last, self.first + limit - 1)
        return [f"+{self.prefix}{n:0{self.width}d}" for n in range(self.first, last + 1)]


class GroupSpec(BaseGroup):
    """A group of numbers as the service lists it (the model), plus where its numbers come from."""

    model_config: ClassVar[ConfigDict] = ConfigDict(frozen=True)

    ranges: tuple[NumberRange, ...] = Field(exclude=True, repr=False)
    """The emulator's own: not part of the group's body."""

    @property
    def cost_per_outbound_message(self) -> int:
        """What an SMS sent from one of its numbers costs (not a documented field).

        The docs give no outbound price; the emulator charges the inbound price,
        or 1000 satoshis (the docs' example message cost) for a group without one.
        """
        return self.cost_per_inbound_message or 1000

    def to_wire(self) -> dict[str, Any]:
        """The group's body: the model's fields, by their wire names."""
        return self.model_dump(mode="json", by_alias=True)

    def pool(self, size: int) -> list[str]:
        """The first `size` numbers of its ranges, in order."""
        numbers: list[str] = []
        for number_range in self.ranges:
            numbers.extend(number_range.numbers(size - len(numbers)))
            if len(numbers) >= size:
                break
        return numbers[:size]


def _north_american(area_codes: str) -> tuple[NumberRange, ...]:
    # 555-0100 to 555-0199 is reserved for fiction in every area code.
    return tuple(NumberRange(f"1{area}5550", 3, 100, 199) for area in area_codes.split())


def _group(
    group_id: str,
    name: str,
    sms: bool,
    voice: bool,
    costs: tuple[int, int, int, int],
    *ranges: NumberRange,
) -> GroupSpec:
    setup, per_minute, inbound_sms, inbound_call = costs
    country, group_type = group_id.split("-")
    return GroupSpec(
        id=group_id,
        type=group_type,
        name=name,
        country_code=country,
        sms_support=sms,
        voice_support=voice,
        setup_cost=setup,
        rental_cost_per_minute=per_minute,
        cost_per_inbound_message=inbound_sms if sms else None,
        cost_per_inbound_call_minute=inbound_call if voice else None,
        ranges=ranges,
    )


R = NumberRange
# (setup, per minute, per inbound SMS, per inbound call minute) in satoshis.
GROUPS: tuple[GroupSpec, ...] = (
    _group("us-mobile", "United States", True, True, (9850, 13, 705, 150),
           *_north_american("201 212 312 415 646")),
    _group("us-local", "United States", True, True, (7420, 11, 705, 120),
           *_north_american("202 305 617 702 808")),
    _group("ca-mobile", "Canada", True, False, (11200, 15, 690, 0),
           *_north_american("416 604 514")),
    _group("ca-local", "Canada", False, True, (8800, 12, 0, 140),
           *_north_american("613 403 902")),
    _group("gb-mobile", "United Kingdom", True, True, (15400, 21, 520, 180),
           R("447700900", 3, 0, 999)),
    _group("gb-local", "United Kingdom", False, True, (12100, 17, 0, 160),
           R("442079460", 3, 0, 999), R("441614960", 3, 0, 999)),
    _group("de-mobile", "Germany", True, True, (28700, 240, 610, 310),
           R("4915228817", 3, 0, 999)),
    _group("de-local", "Germany", False, True, (24100, 198, 0, 260),
           R("493023125", 3, 0, 999)),
    _group("fr-mobile", "France", True, True, (26500, 231, 640, 290),
           R("3363998", 4, 0, 9999)),
    _group("fr-local", "France", False, True, (21800, 187, 0, 240),
           R("3319900", 4, 0, 9999)),
    _group("cz-mobile", "Czech Republic", True, False, (32093, 269, 601, 0),
           R("4207391", 5, 0, 99999)),
    _group("cz-local", "Czech Republic", False, True, (27400, 221, 0, 330),
           R("4202345", 5, 0, 99999)),
    _group("nl-mobile", "Netherlands", True, True, (30100, 250, 580, 300),
           R("3161234", 4, 0, 9999)),
    _group("nl-local", "Netherlands", True, True, (25500, 210, 580, 270),
           R("3120555", 4, 0, 9999)),
    _group("se-mobile", "Sweden", True, True, (29800, 244, 655, 305),
           R("467017406", 2, 5, 99)),
    _group("se-local", "Sweden", False, True, (23900, 201, 0, 250),
           R("468465004", 2, 0, 99)),
    _group("au-mobile", "Australia", True, True, (34500, 285, 720, 340),
           R("61491570", 3, 0, 999)),
    _group("au-local", "Australia", False, True, (28800, 236, 0, 280),
           R("6125550", 4, 0, 9999)),
    _group("es-mobile", "Spain", True, False, (27200, 226, 630, 0),
           R("34612345", 3, 0, 999)),
    _group("es-local", "Spain", False, True, (22600, 190, 0, 245),
           R("3491555", 4, 0, 9999)),
    _group("ie-mobile", "Ireland", True, True, (24800, 205, 560, 260),
           R("35385123", 4, 0, 9999)),
    _group("ie-local", "Ireland", False, True, (20500, 175, 0, 220),
           R("35315550", 3, 0, 999)),
)  # fmt: skip


def find_group(group_id: str) -> GroupSpec | None:
    """The group with this id, or None."""
    for group in GROUPS:
        if group.id == group_id:
            return group
    return None
