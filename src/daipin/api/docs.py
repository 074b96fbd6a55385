"""The API's documentation page: Swagger UI served from the vendored files under /static (no CDN: county networks
are often offline, and the pages' Content-Security-Policy allows scripts from this server only)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

PAGE = """<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<title>带贫益贫 daipin API 接口文档</title>
<link rel="stylesheet" href="/static/vendor/swagger-ui/swagger-ui.css">
</head>
<body>
<div id="swagger-ui" data-spec="{spec}"></div>
<script src="/static/vendor/swagger-ui/swagger-ui-bundle.js"></script>
<script src="/static/api-docs.js"></script>
</body>
</html>
"""


def docs_router(prefix: str) -> APIRouter:
    r = APIRouter(include_in_schema=False)

    @r.get(f"{prefix}/docs", response_class=HTMLResponse)
    def docs() -> str:
        return PAGE.replace("{spec}", f"{prefix}/openapi.json")

    return r
