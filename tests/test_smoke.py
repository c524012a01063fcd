"""Every public page answers with a Dutch page (smoke level; detailed checks live in the other test modules)."""


def test_home(testapp):
    response = testapp.get("/")
    assert "Samen werken aan onderwijs en jeugdhulp" in response.text
    assert '<html lang="nl">' in response.text
