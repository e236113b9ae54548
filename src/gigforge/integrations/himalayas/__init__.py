"""Himalayas: the public remote jobs API, read-only and paged, with attribution kept."""

from gigforge.integrations.himalayas.connector import HimalayasConnector
from gigforge.integrations.himalayas.spec import SPEC, HimalayasConfig

__all__ = ["SPEC", "HimalayasConfig", "HimalayasConnector"]
