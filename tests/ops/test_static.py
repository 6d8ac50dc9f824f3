"""Static files served by the application in production (WhiteNoise).

The debtor page links its stylesheet; with DEBUG off Django serves no static
files itself, so without WhiteNoise the page would arrive unstyled unless a web
server in front was set up for /static/.
"""

from django.test import Client, override_settings

from tests.conftest import REPO_DIR

CSS = REPO_DIR / "portal" / "static" / "portal" / "portal.css"


@override_settings(DEBUG=False)
def test_the_debtor_page_s_stylesheet_is_served_without_a_web_server():
    response = Client().get("/static/portal/portal.css")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/css")
    assert b"".join(response.streaming_content) == CSS.read_bytes()
    assert "max-age" in response["Cache-Control"]
    # No session cookie, no database: WhiteNoise answers before either.
    assert "Set-Cookie" not in response


@override_settings(DEBUG=False)
def test_the_admin_s_own_files_are_served_too():
    response = Client().get("/static/admin/css/base.css")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/css")


@override_settings(DEBUG=False)
def test_an_unknown_static_file_is_404():
    assert Client().get("/static/portal/nothing-here.css").status_code == 404
