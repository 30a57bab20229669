"""Payments: the gateway interface, the PayPal adapter, the bundled sandbox, payment rows and webhooks."""
