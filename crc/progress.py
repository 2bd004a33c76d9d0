"""Where a deployment stands, in machine-readable fields: what it waits for, and what can be done."""

from enum import StrEnum


class WaitingFor(StrEnum):
    """What a deployment waits for now; pages and the API decide from this, never from the status
    sentence."""

    WORKFLOW = "workflow"  # an automatic step is under way
    APPROVALS = "approvals"
    AMENDMENT = "amendment"  # the requester's changes after "request changes"
    VETTING_REVIEW = "vetting_review"
    TRAINING_RESULTS = "training_results"
    TRAINING_SCHEDULE = "training_schedule"
    KIT_STOCK = "kit_stock"
    KIT_RECEIPT = "kit_receipt"
    COUNTRY_CLEARANCE = "country_clearance"
    BOOKING = "booking"
    ARRIVAL = "arrival"
    CHECK_INS = "check_ins"
    OUT_PROCESSING = "out_processing"
    NOTHING = "nothing"  # the deployment has ended


class Action(StrEnum):
    """Something a person may do to a deployment (besides completing its tasks)."""

    CANCEL = "cancel"
    AMEND = "amend"
    CHECK_IN = "check_in"
    REQUEST_EXTENSION = "request_extension"
