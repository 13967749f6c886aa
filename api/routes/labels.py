"""Shared shaping of label responses."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import Response

from api.openapi import merge, problems
from services.barcodes.labels import LabelError
from services.errors import Invalid, SutraceError

LabelFormat = Literal["svg", "png"]
LABEL_RESPONSES: dict[int | str, dict[str, Any]] = merge(
    {
        200: {
            "content": {"image/svg+xml": {}, "image/png": {}},
            "description": "The label, as SVG (default) or PNG.",
        }
    },
    problems({422: ["LABEL_UNENCODABLE"], 501: ["PNG_UNAVAILABLE"]}),
)


class PngUnavailable(SutraceError):
    status = 501
    title = "Not implemented"
    default_code = "PNG_UNAVAILABLE"


def label_response(render: Any) -> Response:
    """Call `render()` -> (bytes, media type); encoding problems become 422 problems."""
    try:
        content, media_type = render()
    except LabelError as exc:
        raise Invalid(str(exc), code="LABEL_UNENCODABLE") from exc
    except RuntimeError as exc:
        raise PngUnavailable(
            "PNG labels need Pillow (pip install 'sutrace[png]'); ask for format=svg."
        ) from exc
    return Response(content=content, media_type=media_type)
