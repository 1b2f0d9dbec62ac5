"""Settings › Coding tools: each tool's text to paste, and for Claude Code and OpenCode a
"Set up…" button that writes it into the tool's own settings file.

Nothing is written before the user has seen the change: "Set up…" and "Remove…" open a
`ChangeDialog` with the keys that change and the whole diff, and write only on its
confirm button. "Undo" puts back the file as it was before glmtray's last write (the core
refuses when the file has changed since, and the message says so). Every refusal or
failure is shown under the tool's row, in the core's words.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QFontDatabase, QPalette
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from glmtray.platform.regions import Region
from glmtray.tool_config import Applied, Plan, ToolConfigError, apply_plan, plan_edit, undo
from glmtray.tool_setup import ToolTarget, tool_setups, tool_targets
from glmtray.ui import style
from glmtray.ui.icon import panel_is_dark

COPIED_MS = 2000
"""How long a Copy button says "Copied" after a click."""

TargetsFor = Callable[[int, Region], Sequence[ToolTarget]]


def small_note(text: str = "") -> QLabel:
    """Grey, slightly smaller, wrapped plain text: the dialog's notes."""
    label = QLabel(text)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(True)
    label.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
    font = label.font()
    if font.pointSizeF() > 0:
        font.setPointSizeF(max(7.0, font.pointSizeF() - 1))
    label.setFont(font)
    palette = label.palette()
    palette.setColor(QPalette.ColorRole.WindowText, style.grey(panel_is_dark(palette)))
    label.setPalette(palette)
    return label


class ChangeDialog(QDialog):
    """The exact change to a settings file, shown before anything is written."""

    def __init__(
        self,
        title: str,
        plan: Plan,
        *,
        offer_meter: bool,
        tool: str,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setMinimumWidth(540)
        layout = QVBoxLayout(self)
        layout.setSpacing(10)
        intro = QLabel(self.tr("glmtray will change {path}:").format(path=plan.path))
        intro.setTextFormat(Qt.TextFormat.PlainText)
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.changes_label = QLabel("\n".join(f"• {line}" for line in plan.describe()))
        self.changes_label.setTextFormat(Qt.TextFormat.PlainText)
        self.changes_label.setWordWrap(True)
        self.changes_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.changes_label)
        self.diff_view = QPlainTextEdit(plan.diff())
        self.diff_view.setReadOnly(True)
        self.diff_view.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.diff_view.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.diff_view.setAccessibleName(self.tr("The whole change, as a diff"))
        self.diff_view.setMinimumHeight(160)
        layout.addWidget(self.diff_view, 1)
        if plan.old_bytes is None:
            kept = self.tr(
                "The file does not exist yet: glmtray creates it. Undo removes it again."
            )
        else:
            kept = self.tr(
                "The file as it is now is kept beside it as a backup, and Undo puts it back."
            )
        layout.addWidget(small_note(kept))
        self.meter_check: QCheckBox | None = None
        if offer_meter:
            self.meter_check = QCheckBox(
                self.tr(
                    "Also turn on the local meter: {tool} reaches the platform through it"
                ).format(tool=tool)
            )
            self.meter_check.setChecked(True)
            layout.addWidget(self.meter_check)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.write_button = self.buttons.addButton(
            self.tr("Write the change"), QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)

    def turn_meter_on(self) -> bool:
        return self.meter_check is not None and self.meter_check.isChecked()


class _ToolRow:
    """The widgets of one tool in the box."""

    def __init__(self, label: QLabel, value: QLineEdit) -> None:
        self.label = label
        self.value = value
        self.setup_button: QPushButton | None = None
        self.undo_button: QPushButton | None = None
        self.remove_button: QPushButton | None = None
        self.applied: Applied | None = None


class ToolSetupBox(QGroupBox):
    """Each coding tool: what to paste, and for the tools glmtray can set up, the buttons."""

    meter_turn_on_requested = Signal()
    """The user asked to turn the meter on (in the confirm dialog, or with the box's button)."""

    def __init__(self, targets_for: TargetsFor = tool_targets, parent: QWidget | None = None):
        super().__init__(parent)
        self.setTitle(self.tr("Point your tools at the meter"))
        self._targets_for = targets_for
        self._port = 0
        self._region = Region.GLOBAL
        self._meter_on = False
        self.change_dialog: ChangeDialog | None = None

        layout = QVBoxLayout(self)
        layout.setSpacing(6)
        meter_row = QHBoxLayout()
        self.meter_off_note = small_note(
            self.tr(
                "The local meter is off: a tool set up here reaches the platform only while "
                "the meter is on."
            )
        )
        self.meter_on_button = QPushButton(self.tr("Turn the meter on"))
        self.meter_on_button.clicked.connect(self.meter_turn_on_requested)
        meter_row.addWidget(self.meter_off_note, 1)
        meter_row.addWidget(self.meter_on_button)
        layout.addLayout(meter_row)

        self.rows: list[_ToolRow] = []
        self._targets: list[ToolTarget | None] = []
        setups = tool_setups(8765)
        settable = {target.tool for target in targets_for(8765, Region.GLOBAL)}
        for setup in setups:
            label = QLabel()
            label.setWordWrap(True)
            label.setTextFormat(Qt.TextFormat.RichText)
            value = QLineEdit()
            value.setReadOnly(True)
            value.setAccessibleName(self.tr("Setting for {tool}").format(tool=setup.tool))
            copy = QPushButton(self.tr("Copy"))
            # Wide enough for "Copied" too, so the row does not shift when it says so.
            copy.setMinimumWidth(copy.fontMetrics().horizontalAdvance(self.tr("Copied ✓")) + 24)
            copy.clicked.connect(
                lambda _checked=False, v=value, b=copy: self._copy_and_confirm(v.text(), b)
            )
            row = _ToolRow(label, value)

            # The tool's buttons share the row of its name: the tab must fit a 768-pixel
            # screen, and a row of its own per tool does not.
            header = QHBoxLayout()
            header.setSpacing(4)
            header.addWidget(label, 1)
            if setup.tool in settable:
                row.setup_button = _compact_button(self.tr("Set up…"))
                row.setup_button.setToolTip(
                    self.tr(
                        "Write this setting into {tool}'s settings file, after showing the change"
                    ).format(tool=setup.tool)
                )
                row.undo_button = _compact_button(self.tr("Undo"))
                row.undo_button.setToolTip(
                    self.tr("Put {tool}'s settings file back as it was before").format(
                        tool=setup.tool
                    )
                )
                row.undo_button.setEnabled(False)
                row.remove_button = _compact_button(self.tr("Remove…"))
                row.remove_button.setToolTip(
                    self.tr("Take glmtray's settings out of {tool}'s settings file").format(
                        tool=setup.tool
                    )
                )
                index = len(self.rows)
                row.setup_button.clicked.connect(lambda _c=False, i=index: self.set_up(i))
                row.undo_button.clicked.connect(lambda _c=False, i=index: self.undo(i))
                row.remove_button.clicked.connect(lambda _c=False, i=index: self.remove(i))
                for button in (row.setup_button, row.undo_button, row.remove_button):
                    header.addWidget(button, 0, Qt.AlignmentFlag.AlignTop)
            grid = QGridLayout()
            grid.setHorizontalSpacing(6)
            grid.setVerticalSpacing(4)
            grid.addLayout(header, 0, 0, 1, 2)
            grid.addWidget(value, 1, 0)
            grid.addWidget(copy, 1, 1)
            grid.setColumnStretch(0, 1)
            layout.addLayout(grid)
            self.rows.append(row)
        # One line for the outcome of the last action: each message names its tool or file.
        self.status = QLabel()
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.status.setVisible(False)
        layout.addWidget(self.status)

    # -- context -------------------------------------------------------------------
    def set_context(self, port: int, region: Region, meter_on: bool) -> None:
        """The meter's port (as the dialog shows it), the account's region, the meter's switch."""
        self._port = port
        self._region = region
        self._meter_on = meter_on
        self.meter_off_note.setVisible(not meter_on)
        self.meter_on_button.setVisible(not meter_on)
        targets = {target.tool: target for target in self._targets_for(port, region)}
        self._targets = [targets.get(setup.tool) for setup in tool_setups(port)]
        self._show_rows()

    def _show_rows(self) -> None:
        for row, setup, target in zip(
            self.rows, tool_setups(self._port), self._targets, strict=True
        ):
            tool, where = _escape(setup.tool), _escape(setup.where)
            if target is None:
                text = self.tr("<b>{tool}</b> — {where}").format(tool=tool, where=where)
            else:
                where = _escape(_home_relative(target.path))
                if _is_set_up(target):
                    text = self.tr("<b>{tool}</b> — {where} (set up ✓)").format(
                        tool=tool, where=where
                    )
                else:
                    text = self.tr("<b>{tool}</b> — {where}").format(tool=tool, where=where)
            row.label.setText(text)
            row.label.setToolTip(setup.where)
            row.value.setText(setup.text)
            row.value.setCursorPosition(0)  # show the start; the end is one click away

    # -- actions -------------------------------------------------------------------
    def set_up(self, index: int) -> None:
        target = self._targets[index]
        assert target is not None
        try:
            plan = plan_edit(target.path, target.setup)
        except ToolConfigError as error:
            self._say(error.message, problem=True)
            return
        if not plan.has_changes:
            self._say(
                self.tr(
                    "{tool} already goes through the meter on port {port}: nothing to change."
                ).format(tool=target.tool, port=self._port),
            )
            return
        self._confirm(
            index,
            self.tr("Set up {tool}").format(tool=target.tool),
            plan,
            offer_meter=not self._meter_on,
            done=self.tr(
                "Done: {tool} now goes through the meter. Sessions already running keep the "
                "old settings until they are restarted."
            ).format(tool=target.tool),
        )

    def remove(self, index: int) -> None:
        target = self._targets[index]
        assert target is not None
        try:
            plan = plan_edit(target.path, target.removal)
        except ToolConfigError as error:
            self._say(error.message, problem=True)
            return
        if not plan.has_changes:
            self._say(
                self.tr("Nothing of glmtray's is in {path}.").format(path=target.path),
            )
            return
        self._confirm(
            index,
            self.tr("Remove glmtray's settings from {tool}").format(tool=target.tool),
            plan,
            offer_meter=False,
            done=self.tr("Removed: {tool} talks to the platform directly again.").format(
                tool=target.tool
            ),
        )

    def undo(self, index: int) -> None:
        row = self.rows[index]
        if row.applied is None:
            return
        applied = row.applied
        try:
            undo(applied)
        except ToolConfigError as error:
            self._say(error.message, problem=True)
            return
        row.applied = None
        if row.undo_button is not None:
            row.undo_button.setEnabled(False)
        self._show_rows()
        if applied.previous_bytes is None:
            message = self.tr("Undone: {path} was removed again.").format(path=applied.path)
        else:
            message = self.tr("Undone: {path} is back as it was.").format(path=applied.path)
        self._say(message)

    def _confirm(self, index: int, title: str, plan: Plan, *, offer_meter: bool, done: str) -> None:
        target = self._targets[index]
        assert target is not None
        dialog = ChangeDialog(title, plan, offer_meter=offer_meter, tool=target.tool, parent=self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: self._write(index, plan, dialog.turn_meter_on(), done))
        dialog.finished.connect(lambda _result: self._forget_dialog(dialog))
        self.change_dialog = dialog
        dialog.open()

    def _forget_dialog(self, dialog: ChangeDialog) -> None:
        if self.change_dialog is dialog:
            self.change_dialog = None

    def _write(self, index: int, plan: Plan, turn_meter_on: bool, done: str) -> None:
        row = self.rows[index]
        try:
            applied = apply_plan(plan)
        except ToolConfigError as error:
            self._say(error.message, problem=True)
            return
        row.applied = applied
        if row.undo_button is not None:
            row.undo_button.setEnabled(True)
        self._show_rows()
        if applied.backup is not None:
            message = self.tr("{done} The previous file is kept beside it as {backup}.").format(
                done=done, backup=applied.backup.name
            )
        else:
            message = done
        self._say(message)
        if turn_meter_on:
            self.meter_turn_on_requested.emit()

    def _say(self, text: str, *, problem: bool = False) -> None:
        status = self.status
        status.setText(text)
        dark = panel_is_dark(self.palette())
        if problem:
            background = style.pick(style.DANGER_BG, dark).name()
            border = style.pick(style.DANGER_BORDER, dark).name()
            status.setStyleSheet(
                f"QLabel {{ background: {background}; border: 1px solid {border}; "
                "border-radius: 4px; padding: 4px 6px; }"
            )
        else:
            status.setStyleSheet("")
        status.setVisible(True)
        self._grow_window()

    def _grow_window(self) -> None:
        """Make the window tall enough for wrapped text that just appeared: a top-level
        window does not grow by itself for a label's height at its width."""
        window = self.window()
        layout = window.layout()
        if layout is None or not window.isVisible():
            return
        layout.activate()
        needed = layout.totalHeightForWidth(window.width())
        if needed > window.height():
            window.resize(window.width(), needed)

    def _copy_and_confirm(self, text: str, button: QPushButton) -> None:
        style.copy_to_clipboard(text)
        button.setText(self.tr("Copied ✓"))
        QTimer.singleShot(COPIED_MS, lambda: button.setText(self.tr("Copy")))


def _is_set_up(target: ToolTarget) -> bool:
    """Whether the tool's file already holds glmtray's settings for this port (a file that
    cannot be read counts as not set up; "Set up…" then says why)."""
    try:
        return not plan_edit(target.path, target.setup).has_changes
    except ToolConfigError:
        return False


def _compact_button(text: str) -> QPushButton:
    """A button as wide as its text (styles give push buttons a wide minimum)."""
    button = QPushButton(text)
    button.setFixedWidth(button.fontMetrics().horizontalAdvance(text) + 20)
    return button


def _home_relative(path: Path) -> str:
    """`~/.claude/settings.json` rather than the whole path: shorter, and what the docs say."""
    try:
        return str(Path("~") / path.relative_to(Path.home()))
    except ValueError:
        return str(path)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
