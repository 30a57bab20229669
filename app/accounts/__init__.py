"""Customers, staff and their credentials."""
