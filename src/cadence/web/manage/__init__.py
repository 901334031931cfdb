"""The shop manager's back office: one module per area, URLs `/manage/<shop id>/<area>/…`."""
