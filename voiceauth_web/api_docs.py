"""The interactive API docs: Swagger UI served by this process, so /docs renders offline."""

from __future__ import annotations

from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.router import Router
from litestar.static_files import create_static_files_router

__all__ = ["ASSETS_PATH", "openapi_config", "swagger_assets"]

ASSETS_PATH = "/docs/assets"


def swagger_assets() -> Router:
    """Swagger UI's JavaScript and CSS from the pinned ``swagger-ui-bundle-v2`` wheel."""
    # The wheel ships no py.typed; swagger_ui_path is a plain pathlib path.
    from swagger_ui_bundle import swagger_ui_path  # type: ignore[import-untyped]  # noqa: PLC0415

    return create_static_files_router(
        path=ASSETS_PATH, directories=[swagger_ui_path], include_in_schema=False
    )


def openapi_config(version: str) -> OpenAPIConfig:
    """The OpenAPI document at /schema, rendered by the local Swagger UI (no CDN)."""
    return OpenAPIConfig(
        title="voiceauth",
        version=version,
        description="Voice authentication for phone assistants: enrol, verify, audit.",
        path="/schema",
        render_plugins=[
            SwaggerRenderPlugin(
                js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
                css_url=f"{ASSETS_PATH}/swagger-ui.css",
                standalone_preset_js_url=f"{ASSETS_PATH}/swagger-ui-standalone-preset.js",
                favicon=f"<link rel='icon' href='{ASSETS_PATH}/favicon-32x32.png'>",
            )
        ],
    )
