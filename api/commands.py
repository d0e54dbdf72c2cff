"""`incentive serve` and `incentive keys` (wired lazily by incentive/cli.py).

Both read the database from ``INCENTIVE_DATABASE_URL`` (default: a SQLite file
``./incentive.db``) and apply the migrations first.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from .db import database_label
from .settings import Settings
from .store import Store


def _store(settings: Settings) -> Store | None:
    """The migrated store, or None (with the reason on stderr) when the database is not reachable."""
    store = Store.from_settings(settings)
    try:
        store.migrate()
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or type(exc).__name__).strip().splitlines()[0]
        print(f"error: cannot use the database {database_label(settings.database_url)}: {reason}", file=sys.stderr)
        store.dispose()
        return None
    return store


def _log_config(level: str) -> dict[str, Any]:
    from uvicorn.config import LOGGING_CONFIG

    cfg = copy.deepcopy(LOGGING_CONFIG)
    cfg["loggers"]["incentive"] = {"handlers": ["default"], "level": level.upper(), "propagate": False}
    return cfg


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    settings = Settings()
    store = _store(settings)
    if store is None:
        return 1
    store.dispose()
    # migrated once here; the app's own start-up (in each worker) need not do it again
    os.environ["INCENTIVE_AUTO_MIGRATE"] = "false"
    workers = max(1, int(args.workers))
    print(f"incentive: serving http://{args.host}:{args.port} (database {database_label(settings.database_url)}, "
          f"{workers} worker{'s' if workers > 1 else ''})", file=sys.stderr, flush=True)
    uvicorn.run("api.app:create_app", factory=True, host=args.host, port=int(args.port), workers=workers,
                log_config=_log_config(settings.log_level), log_level=settings.log_level.lower(),
                timeout_graceful_shutdown=30)
    return 0


def cmd_keys(args: argparse.Namespace) -> int:
    store = _store(Settings())
    if store is None:
        return 1
    try:
        if args.keys_command == "create":
            info, secret = store.create_key(args.role, args.name)
            print(f"created key {info.key_id} (name {info.name}, role {info.role}); "
                  "store it now, it is not shown again:")
            print(secret)
            return 0
        if args.keys_command == "list":
            keys = store.list_keys()
            if args.json:
                print(json.dumps([{"key_id": k.key_id, "name": k.name, "role": k.role, "created_at": k.created_at,
                                   "revoked_at": k.revoked_at, "active": k.active} for k in keys], indent=2))
            elif not keys:
                print("no keys")
            else:
                for k in keys:
                    state = "active" if k.active else f"revoked {k.revoked_at}"
                    print(f"{k.key_id}  {k.role:<8} {k.name}  (created {k.created_at}, {state})")
            return 0
        if args.keys_command == "revoke":
            found = store.revoke_key(args.key_id)
            if found is None:
                print(f"error: no key {args.key_id!r} (see: incentive keys list)", file=sys.stderr)
                return 2
            print(f"revoked key {found.key_id} ({found.name}, role {found.role})")
            return 0
        print(f"error: unknown keys command {args.keys_command!r}", file=sys.stderr)
        return 2
    finally:
        store.dispose()
