"""Resolving the workflow's configuration and table specs into experiments, protocols, ensembles and tables."""

from ctnet.workflow.io import ConfigError
from ctnet.workflow.plan import Plan

__all__ = ["ConfigError", "Plan"]
