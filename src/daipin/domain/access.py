"""The one access policy: who may read and write what, by role and region."""

from __future__ import annotations

from daipin.domain.actors import Actor
from daipin.domain.errors import Forbidden


def check_scope(actor: Actor, code: str) -> None:
    """The actor may act only inside its region; read-only roles may not write."""
    if actor.read_only:
        raise Forbidden("只读角色不能修改数据", "read-only role cannot write", field=None)
    if actor.region and not actor.sees_region(code):
        raise Forbidden(f"无权操作辖区 {code}", f"region {code} is outside the actor's scope", field=None)
