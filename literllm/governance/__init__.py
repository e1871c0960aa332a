"""Rate limits and budgets: admission, reservations and settlement on the state store."""

from .governor import Admission, Governor
from .snapshot import GovernanceSnapshot

__all__ = ["Admission", "GovernanceSnapshot", "Governor"]
