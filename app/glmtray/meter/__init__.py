"""The optional local meter: a loopback relay to the platform's coding endpoints that
counts requests in flight. Its server stack (aiohttp) loads only when the meter starts:
import `glmtray.meter.server` where it is needed, never from here."""
