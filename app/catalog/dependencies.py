from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

from fastapi import Depends
from sqlalchemy.orm import Session

from app.access import access_rule
from app.accounts.dependencies import MerchantUser
from app.catalog import service
from app.catalog.models import Product, Sku
from app.db import SessionDep


@access_rule("merchant_member")
def merchant_organisation_id(user: MerchantUser, session: SessionDep) -> uuid.UUID:
    return service.organisation_id_for(session, user)


OrganisationId = Annotated[uuid.UUID, Depends(merchant_organisation_id)]


@access_rule("owner")
def owned_product(product_id: uuid.UUID, organisation_id: OrganisationId, session: SessionDep) -> Product:
    return service.get_owned_product(session, organisation_id, product_id)


@access_rule("owner")
def owned_sku(sku_id: uuid.UUID, organisation_id: OrganisationId, session: SessionDep) -> Sku:
    return service.get_owned_sku(session, organisation_id, sku_id)


OwnedProduct = Annotated[Product, Depends(owned_product)]
OwnedSku = Annotated[Sku, Depends(owned_sku)]


@contextmanager
def unit_of_work_in_this_thread(session: Session) -> Iterator[None]:
    """End the request's transaction (commit, or roll back on error) in the thread that took SKU
    row locks, instead of in the session dependency's teardown.

    The teardown of a sync dependency runs in a later threadpool hop. Under load every worker
    thread can be blocked on a row lock this request holds, and PostgreSQL lock waits have no
    timeout: the hop that would release the lock never gets a thread. Ending the transaction
    here removes that cycle; the teardown's commit is then a no-op and ``on_commit`` callbacks
    still run after it."""
    try:
        yield
    except BaseException as exc:
        if not getattr(exc, "commit_on_error", False):
            session.rollback()
        raise
    session.commit()
