"""Our app with two routes that fail inside it (one of the API, one page), as a host application might add:
the tests use it to see that an unhandled error answers 500 and leaves the keep-alive connection open."""
from qa_server.app import create_app
from qa_server.settings import Settings

app = create_app(Settings())


def fail() -> dict:
    raise RuntimeError("a handler failed")


app.add_api_route("/api/v1/fail", fail)
app.add_api_route("/fail", fail)
