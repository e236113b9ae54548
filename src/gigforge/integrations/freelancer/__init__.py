"""Freelancer.com: project search and user-approved bids through the official API."""

from gigforge.integrations.freelancer.connector import FreelancerConnector
from gigforge.integrations.freelancer.spec import SPEC, FreelancerConfig

__all__ = ["SPEC", "FreelancerConfig", "FreelancerConnector"]
