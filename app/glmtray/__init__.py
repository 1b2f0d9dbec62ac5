"""glmtray: a system-tray monitor for GLM Coding Plan subscribers."""

__version__ = "0.1.0"
APP_ID = "io.github.glmtray.GlmTray"
APP_NAME = "glmtray"
