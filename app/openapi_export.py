"""Print the app's OpenAPI document as YAML: `make openapi` writes it to openapi.yaml."""

from __future__ import annotations

import sys
from typing import Any

import yaml

from app.core.settings import Env, Settings


def openapi_document() -> dict[str, Any]:
    from app.main import create_app

    # A fixed test configuration: the document must not depend on the environment.
    app = create_app(Settings(env=Env.test, database_url="sqlite+aiosqlite:///:memory:"))
    return app.openapi()


def render() -> str:
    return yaml.safe_dump(openapi_document(), sort_keys=False, allow_unicode=True, width=120)


if __name__ == "__main__":
    sys.stdout.write(render())
