"""The access policy's reach as a SQL condition: a list read returns exactly the rows `Reach.covers` admits."""

from __future__ import annotations

from typing import Any

from sqlalchemy import false, or_, true

from daipin.domain.access import LEVEL_DIGITS, Reach, Scope


def where(reach: Reach, *, region: Any = None, entity: Any = None, posted: Any = None) -> Any:
    """The condition on a statement's `region` column (the row's most precise region code), `entity` column and
    `posted` condition for `reach`; a scope whose column is not given admits nothing, as `covers` does."""
    s = reach.scope
    if s is Scope.ALL:
        return true()
    if s in LEVEL_DIGITS and region is not None:
        inside = region.startswith(reach.prefix)
        return or_(inside, region == reach.prefix[:9]) if s is Scope.VILLAGE_UP else inside
    if s is Scope.ENTITY and entity is not None:
        return entity == reach.entity_id
    if s is Scope.PUBLIC and posted is not None:
        return posted
    return false()
