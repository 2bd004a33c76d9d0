"""Search attributes the workflow keeps current, so operators can filter deployments by stage."""

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from crc.search_attributes import CRC_STAGE
    from crc.stages import Stage

# Runs started before the workflow upserted search attributes must replay without the command.
PATCH_SEARCH_ATTRIBUTES = "crc-search-attributes"


def upsert_stage(stage: Stage) -> None:
    """Set CrcStage to the stage just entered."""
    if workflow.patched(PATCH_SEARCH_ATTRIBUTES):
        workflow.upsert_search_attributes([CRC_STAGE.value_set(stage.value)])
