from workflow.helpers import add_user, contribution_form, login


def test_contributor_can_open_form(site):
    add_user(site, "bijdrager@example.nl", "bijdrager")
    app = site.testapp()
    login(app, "bijdrager@example.nl")
    page = app.get("/bijdragen")
    assert "Een praktijkvoorbeeld bijdragen" in page
    form = contribution_form(page)
    form["title"] = "Test"
    resp = form.submit("opslaan")
    print(resp.status, resp.location)
    page = resp.follow()
    print(page.text[:3000])
