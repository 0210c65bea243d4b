"""Figures drawn from hopdyn result objects; plotting never recomputes."""
