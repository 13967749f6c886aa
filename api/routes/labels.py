"""Shared shaping of label responses."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import Response

from api.openapi import merge, problems
from services.barcodes.labels import LabelError
from services.barcodes.layout import DoesNotFit
from services.errors import Invalid, SutraceError

LabelFormat = Literal["svg", "png"]
Symbology = Literal["auto", "gs1-128", "datamatrix"]
Stock = Literal["100x50mm", "4x2in", "2x1in"]
LABEL_RESPONSES: dict[int | str, dict[str, Any]] = merge(
    {
        200: {
            "content": {"image/svg+xml": {}, "image/png": {}},
            "description": "The label on its stock, as SVG (default) or PNG, 300 dpi.",
        }
    },
    problems({422: ["LABEL_UNENCODABLE", "LABEL_DOES_NOT_FIT"], 501: ["PNG_UNAVAILABLE"]}),
)


class PngUnavailable(SutraceError):
    status = 501
    title = "Not implemented"
    default_code = "PNG_UNAVAILABLE"


def label_response(render: Any) -> Response:
    """Call `render()` -> (bytes, media type); encoding problems become 422 problems."""
    try:
        content, media_type = render()
    except DoesNotFit as exc:
        raise Invalid(str(exc), code="LABEL_DOES_NOT_FIT") from exc
    except LabelError as exc:
        raise Invalid(str(exc), code="LABEL_UNENCODABLE") from exc
    except RuntimeError as exc:
        raise PngUnavailable(
            "PNG labels need Pillow (pip install 'sutrace[png]'); ask for format=svg."
        ) from exc
    return Response(content=content, media_type=media_type)
