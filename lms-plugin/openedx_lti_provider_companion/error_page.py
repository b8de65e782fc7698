"""The page a refused login shows: learner-safe message, stable code for support, no token."""
from django.http import HttpResponse
from django.utils.html import escape

TEMPLATE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="robots" content="noindex"><title>Sign-in failed</title></head>
<body>
<main>
<h1>We could not sign you in</h1>
<p>{message}</p>
<p>If this keeps happening, tell support this code: <code>{code}</code></p>
</main>
</body>
</html>
"""


def error_response(refusal):
    response = HttpResponse(
        TEMPLATE.format(message=escape(refusal.message), code=escape(refusal.code)),
        status=refusal.status,
        content_type="text/html; charset=utf-8",
    )
    response["X-Error-Code"] = refusal.code
    return response
