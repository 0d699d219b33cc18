"""Writing a CommerceML package into the catalogue (`catalog_*` tables), in batches; a full package's sweep.

- records.py: what the parser (integrations/onec/commerceml.py) reads — groups, properties, products, price types,
  warehouses, offers, organisations.
- writer.py: `CatalogueWriter`, one package's writes, a few thousand records a transaction: the batching, the
  classifier (groups, properties, price types, warehouses) and the organisations.
- products.py: a batch's products as rows, and the product of each offer (a variant seen first made from it).
- offers.py: a batch's offers: prices and stock as columns, written with each product's stock total.
- rows.py: rows into the big tables with no per-row work in SQLAlchemy (`unnest` arrays on PostgreSQL, the
  driver's executemany on SQLite).
- sweep.py: what a full package did not mention, deactivated or removed; `delete_products`, the one way to delete
  a product (its prices, stock and variants with it).
- runs.py: the import's own row (catalog_imports): started, heartbeat, finished or failed.
"""

from services.catalogue_import.records import (
    SWEEPS,
    Group,
    Offer,
    Organisation,
    Price,
    PriceType,
    Product,
    Property,
    Record,
    Warehouse,
)
from services.catalogue_import.runs import fail_stale, finish_import, heartbeat, import_of, start_import
from services.catalogue_import.sweep import delete_products
from services.catalogue_import.writer import BATCH, CatalogueWriter

__all__ = [
    "BATCH",
    "SWEEPS",
    "CatalogueWriter",
    "Group",
    "Offer",
    "Organisation",
    "Price",
    "PriceType",
    "Product",
    "Property",
    "Record",
    "Warehouse",
    "delete_products",
    "fail_stale",
    "finish_import",
    "heartbeat",
    "import_of",
    "start_import",
]
