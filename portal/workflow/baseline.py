"""What an editor compares a submission with: the version that was published or last reviewed by an editor.

A new item that no editor has looked at yet has no baseline: the review shows the whole item, not a diff against
the contributor's own earlier drafts.
"""

from __future__ import annotations

import dataclasses

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.content.models import Status
from portal.workflow.models import Revision, Transition
from portal.workflow.services import ItemState, get_revision


@dataclasses.dataclass(frozen=True)
class Baseline:
    revision: Revision
    #: "gepubliceerd" when the baseline is the published text, "beoordeeld" when an editor returned it.
    kind: str

    @property
    def heading(self) -> str:
        if self.kind == "gepubliceerd":
            return f"Wijzigingen ten opzichte van de gepubliceerde versie (revisie {self.revision.number})"
        return f"Wijzigingen sinds de vorige beoordeling (revisie {self.revision.number})"


def review_baseline(dbsession: Session, state: ItemState) -> Baseline | None:
    """The most recent revision that was published or returned by an editor, or None for a first review.

    A rejected change is no baseline: it was never applied, so the next change is compared with the published
    text."""
    example_id = state.example.id
    reviewed = dbsession.scalar(select(func.max(Transition.revision)).where(
        Transition.example_id == example_id, Transition.to_status == Status.RETURNED,
        Transition.revision.is_not(None)))
    published = state.workflow.published_revision if state.workflow is not None else None
    candidates = [(n, kind) for n, kind in ((published, "gepubliceerd"), (reviewed, "beoordeeld")) if n]
    if not candidates:
        return None
    number, kind = max(candidates)
    revision = get_revision(dbsession, example_id, number)
    return Baseline(revision, kind) if revision is not None else None
