"""The floor for bench_tray.py: a bare PySide6 tray icon and nothing else. Whatever glmtray
costs above this (start-up, memory, idle CPU) is the app's own; below it nothing can go."""

import sys

from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import QApplication, QSystemTrayIcon

app = QApplication(sys.argv)
app.setQuitOnLastWindowClosed(False)
pixmap = QPixmap(22, 22)
pixmap.fill(QColor("#2e7d32"))
tray = QSystemTrayIcon(QIcon(pixmap))
tray.show()
print("tray icon shows data (floor)", file=sys.stderr, flush=True)  # bench_tray waits for it
sys.exit(app.exec())
