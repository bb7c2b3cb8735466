"""The portfolio read model: what the pages, the business review and the API show."""
