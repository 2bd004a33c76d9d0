"""The JSON API under /api/v1."""

from fastapi import APIRouter, Depends

from web.api import auth, deployments, lifecycle, me, roster, tasks, users
from web.bounds import refuse_unstorable_text

api_router = APIRouter(prefix="/api/v1", dependencies=[Depends(refuse_unstorable_text)])
api_router.include_router(auth.router)
api_router.include_router(me.router)
api_router.include_router(roster.router)
api_router.include_router(deployments.router)
api_router.include_router(lifecycle.router)
api_router.include_router(tasks.router)
api_router.include_router(users.router)
