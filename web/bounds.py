"""What a request may carry: ids the database holds, text it can store, a body of sane size.

Refused in words (a 422 naming the field in FastAPI's shape, a 413 for the body), never with the
database's or Temporal's error.
"""

from typing import Annotated

from crc.fields import INT32_MAX, WholeNumber

DocumentId = Annotated[int, WholeNumber(1, INT32_MAX, "must be a document's id")]
