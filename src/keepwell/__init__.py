"""Keepwell: an open-source customer-success platform for subscription businesses.

The Python API for analysts lives in each capability's ``service`` module, e.g.
``keepwell.contract.service.import_file`` or ``keepwell.revenue.service``.
"""

from keepwell.core.errors import KeepwellError

__version__ = "0.1.0"
__all__ = ["KeepwellError", "__version__"]
