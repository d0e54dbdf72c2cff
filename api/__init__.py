"""The Incentive HTTP service (v1): period close, simulations, statements and payroll export.

Thin by design: the routers parse and authorise a request, call the engine (`incentive`) and
the store (`api.store`), and shape the answer. `api.app.create_app` builds the FastAPI app;
`incentive serve` runs it (see `api.commands`).
"""
