"""Incentive: result-plus-process project bonus allocation for Lead-to-Cash sales teams.

The engine reads a period input and a rule set and computes who gets what, top to bottom:
load -> validate -> events and pools -> ideal split -> caps -> rounding -> result.
"""

from .pipeline import Allocation, allocate, allocate_document
from .problems import InputError, Problem

__version__ = "0.1.0"

__all__ = ["Allocation", "InputError", "Problem", "__version__", "allocate", "allocate_document"]
