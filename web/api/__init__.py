"""The JSON API under /api/v1."""

from fastapi import APIRouter

from web.api import auth, deployments, lifecycle, me, roster, tasks

api_router = APIRouter(prefix="/api/v1")
api_router.include_router(auth.router)
api_router.include_router(me.router)
api_router.include_router(roster.router)
api_router.include_router(deployments.router)
api_router.include_router(lifecycle.router)
api_router.include_router(tasks.router)
