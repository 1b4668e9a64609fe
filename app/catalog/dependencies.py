from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends

from app.accounts.dependencies import MerchantUser
from app.catalog import service
from app.catalog.models import Product, Sku
from app.db import SessionDep


def merchant_organisation_id(user: MerchantUser, session: SessionDep) -> uuid.UUID:
    return service.organisation_id_for(session, user)


OrganisationId = Annotated[uuid.UUID, Depends(merchant_organisation_id)]


def owned_product(product_id: uuid.UUID, organisation_id: OrganisationId, session: SessionDep) -> Product:
    return service.get_owned_product(session, organisation_id, product_id)


def owned_sku(sku_id: uuid.UUID, organisation_id: OrganisationId, session: SessionDep) -> Sku:
    return service.get_owned_sku(session, organisation_id, sku_id)


OwnedProduct = Annotated[Product, Depends(owned_product)]
OwnedSku = Annotated[Sku, Depends(owned_sku)]
