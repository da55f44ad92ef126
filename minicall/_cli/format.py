"""How the command line writes numbers a person reads."""

from __future__ import annotations

__all__ = ["cost_text"]


def cost_text(cost: float | None) -> str:
    """USD as a plain decimal (``$0.00000631``, never ``6.3100000000000006e-06``)."""
    if cost is None:
        return "unknown"
    # Twelve places hold any price per token; the float noise past them is dropped.
    text = f"{cost:.12f}".rstrip("0").rstrip(".")
    return f"${text if text not in ('', '-0') else '0'}"
