"""The small core every capability stands on: settings, errors, stores, dates, money."""
