"""A loopback stand-in for the platform's account endpoints, for tests and demo mode."""

from glmtray.simulator.scenarios import (
    DEMO_API_KEY,
    MODEL_USAGE_PATH,
    PLATFORM_PATHS,
    QUOTA_PATH,
    RESET_PATH,
    RISK_PATH,
    SCENARIOS,
    SIMULATOR_API_KEY,
    SUBSCRIPTION_PATH,
    TOOL_USAGE_PATH,
    Scenario,
    scenario_names,
)
from glmtray.simulator.server import PlatformSimulator, RecordedRequest, serve

__all__ = [
    "DEMO_API_KEY",
    "MODEL_USAGE_PATH",
    "PLATFORM_PATHS",
    "QUOTA_PATH",
    "RESET_PATH",
    "RISK_PATH",
    "SCENARIOS",
    "SIMULATOR_API_KEY",
    "SUBSCRIPTION_PATH",
    "TOOL_USAGE_PATH",
    "PlatformSimulator",
    "RecordedRequest",
    "Scenario",
    "scenario_names",
    "serve",
]
