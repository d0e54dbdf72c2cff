"""Service settings, read from the environment (prefix ``INCENTIVE_``) by pydantic-settings."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///./incentive.db"


class Settings(BaseSettings):
    """Everything the service can be configured with.

    ``INCENTIVE_DATABASE_URL``: SQLAlchemy URL of the store. SQLite (the embedded default, a file
    in the working folder) or PostgreSQL (``postgresql+psycopg://user@host:5432/db``).
    """

    model_config = SettingsConfigDict(env_prefix="INCENTIVE_", extra="ignore")

    database_url: str = Field(default=DEFAULT_DATABASE_URL, description="SQLAlchemy database URL")
    max_request_bytes: int = Field(default=200 * 1024 * 1024, ge=1,
                                   description="largest request body accepted; larger ones get 413")
    auto_migrate: bool = Field(default=True, description="apply Alembic migrations when the app starts")
    log_level: str = Field(default="info")
    sqlite_busy_timeout_s: float = Field(default=60.0, gt=0, description="how long a SQLite writer waits for the lock")
    sqlite_synchronous: Literal["FULL", "NORMAL", "OFF"] = Field(
        default="FULL", description="SQLite's synchronous pragma: FULL (default) makes every close durable at once; "
                                    "NORMAL is faster and may lose the last commits on power loss (never corrupts)")
