"""Config layer: load and validate the generator YAML, and fingerprint the result."""

from ecomlake.config.fingerprint import config_fingerprint
from ecomlake.config.load import load_config, load_config_text
from ecomlake.config.models import EcomConfig

__all__ = ["EcomConfig", "config_fingerprint", "load_config", "load_config_text"]
