"""Example Gigs: a custom marketplace plugin for Gigforge."""

from gigforge_example_marketplace.connector import ExampleGigsConnector
from gigforge_example_marketplace.spec import SPEC, ExampleGigsConfig

__all__ = ["SPEC", "ExampleGigsConfig", "ExampleGigsConnector"]
