"""The tests run against the in-place build (make python) or an installed package."""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
