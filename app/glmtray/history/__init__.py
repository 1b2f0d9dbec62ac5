"""Usage history: every refresh's window shares kept locally (`store`), written by a fetch
recorder (`recorder`), turned into pace and forecast per window (`forecast`) and into the
history window's series (`views`, `export`). Qt-free."""
