"""Pure vectorised pricing functions: one model per module (price and Greeks)."""
