"""The deployment's search attributes as the workflow keeps them current (stage changes)."""

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from crc.search_attributes import CRC_STAGE
    from crc.stages import Stage

# Workflows recorded before the upsert existed replay without it (tests/histories/).
PATCH_SEARCH_ATTRIBUTES = "crc-search-attributes"


def upsert_stage(stage: Stage) -> None:
    """Show the new stage in CrcStage, so `CrcStage="..."` filters find the deployment."""
    if workflow.patched(PATCH_SEARCH_ATTRIBUTES):
        workflow.upsert_search_attributes([CRC_STAGE.value_set(stage.value)])
