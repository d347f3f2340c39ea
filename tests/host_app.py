"""A host application that mounts policyqa under /policyqa, as an embedding backend would."""
from fastapi import FastAPI

from qa_server.app import create_app
from qa_server.settings import Settings

host = FastAPI()


@host.get("/")
def home() -> dict:
    return {"service": "host"}


host.mount("/policyqa", create_app(Settings()))
