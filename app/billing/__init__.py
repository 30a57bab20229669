"""Invoices, numbering, billing maths and the billing run."""
