"""Recurra: an open subscription service (Litestar + Piccolo + piccolo-admin + arq + PayPal)."""
