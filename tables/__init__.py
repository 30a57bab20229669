"""Piccolo tables: the shape of Recurra's data, one module per domain. No business rules live here."""
