"""PDF invoices and receipts: WeasyPrint renders the portal's own invoice template (the same data as the
invoice page). WeasyPrint is CPU-bound, so it runs in a worker thread, never on the event loop."""

from __future__ import annotations

from typing import Any

import anyio
from litestar.template.base import TemplateEngineProtocol

PDF_TEMPLATE = "billing/invoice_pdf.html"


def _render(html: str) -> bytes:
    from weasyprint import HTML  # imported on first use: loading Pango takes a moment

    pdf: bytes = HTML(string=html).write_pdf()
    return pdf


async def invoice_pdf(engine: TemplateEngineProtocol[Any, Any] | None, **context: Any) -> bytes:
    """The invoice (or, once paid, receipt) as PDF bytes."""
    if engine is None:
        raise RuntimeError("the app has no template engine")
    html = engine.get_template(PDF_TEMPLATE).render(**context)
    return await anyio.to_thread.run_sync(_render, html)
