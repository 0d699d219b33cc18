"""1C's accounting documents for an order request (seed 4): an invoice (Счет на оплату), shipment papers (Отпуск
товара — Реализация товаров и услуг, ТОРГ-12), a tax invoice or a УПД, as 1C sends them over the exchange
(`type=sale&mode=file`/`import`, services/sales_exchange.py) in CommerceML 2 `Документ`s whose `ХозОперация` says
which. Each becomes a printable Excel file on the order's case (its field `onec_documents`, the case's file store),
with the number, date, positions, sums and VAT exactly as 1C sent them; whoever may see the case may get it
(services/access/ `case_file`), nobody else.

Which order a document is for: the `Контейнер` it shares with the order's own document (CommerceML 3 groups an
order and its documents so, as Bitrix's `sale.export.1c` reads them), else its `Основание` (a child, or
`Основания/Основание` with `Ид`/`Номер`), else a requisite «Номер заказа на сайте» / «Номер заказа» / «Заказ» /
«Основание»: our case's number, or the number 1C gave the order (`onec_number`, from «Номер по 1С»).

A version is known by 1C's `Ид` and the digest of what it says (`НомерВерсии`, number, date, positions, sums): the
same one sent again attaches nothing; a changed one is stored as a new version whose file replaces the older
one's on the case (the older file stays in the store and the audit). The dealer's people on the case (its
initiator, the organisation's managers) are told, each in their language, with a button to get the file.

`papers.py` the documents read from 1C's file, `sheet.py` a document as a printable Excel sheet, `orders.py` a
document's order found, attached to its case and listed."""

from services.onec_documents.orders import Attached, Listed, attach, of_cases
from services.onec_documents.papers import kind_of, parse_papers

__all__ = ["Attached", "Listed", "attach", "kind_of", "of_cases", "parse_papers"]
