"""What the tests share: builders (`factories`, `worlds`, `subscriptions`, `manage`, `api`,
`stripe`), fixtures registered for the whole suite in tests/conftest.py (`smtp`, `stripe`,
`worlds`), browser helpers (`browser`), facts of the API contract (`contract`) and the worker
processes of the crash tests (`workers`). Test modules import only from here."""
