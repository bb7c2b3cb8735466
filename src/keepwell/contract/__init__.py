"""The data contract in code: entity schemas, row validation, file readers, import."""
