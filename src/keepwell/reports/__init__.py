"""Business reviews (QBR) as HTML and PDF."""
