"""Which construct manages which pool in an app: two would fight over one pool's retention.

Kept in the construct tree, on the app's root, so that it lives and dies with the app (a module-level
registry keyed by constructs would be global state: jsii keeps every construct alive).
"""

from __future__ import annotations

from constructs import Construct, IConstruct


class PoolClaims(Construct):
    ID = "KvsPoolRetentionClaims"

    @classmethod
    def of(cls, stack: IConstruct) -> PoolClaims:
        """The app's claims, found from a stack (and kept on it: lookups are round trips to Node)."""
        claims = getattr(stack, "_kvs_pool_claims", None)
        if claims is None:
            root = stack.node.root
            claims = root.node.try_find_child(cls.ID) or cls(root)
            stack._kvs_pool_claims = claims  # type: ignore[attr-defined]
        assert isinstance(claims, PoolClaims)
        return claims

    def __init__(self, root: IConstruct) -> None:
        super().__init__(root, self.ID)  # type: ignore[arg-type]
        self._claims: dict[tuple[str, ...], Construct] = {}

    def claim(self, pool: tuple[str, ...], claimant: Construct, shown: str) -> None:
        """Refuse a second construct for `pool` (a key naming it as exactly as synth allows); `shown` says
        which pool that is, for the message."""
        first = self._claims.setdefault(pool, claimant)
        if first is not claimant:
            raise ValueError(
                f"{shown} is already managed by {first.node.path}; {claimant.node.path} targets the same "
                "pool. Declare each pool once."
            )
