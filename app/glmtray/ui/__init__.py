"""The Qt widgets of glmtray: thin views that render an AppState and emit signals."""
