"""1C:Enterprise: the site side of the standard exchange (CommerceML 2): the parser (commerceml.py), the import of
files into the catalogue (importer.py) and the HTTP exchange 1C calls (exchange.py)."""
