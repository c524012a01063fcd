"""The route table. Route names are part of the public contract (tests pin them)."""


def includeme(config):
    config.add_static_view("static", "portal:static", cache_max_age=3600)
    config.add_route("home", "/")
    # Pyramid tries the routes in this order, one pattern after another: the search routes, asked with a new query
    # string on every request (so past the page cache), come first. No pattern before them can match their paths.
    config.add_route("zoeken", "/zoeken")
    config.add_route("api_zoeken", "/api/zoeken")
    config.add_route("api_suggesties", "/api/suggesties")
    config.add_route("over", "/over")
    config.add_route("privacy", "/privacy")
    config.add_route("colofon", "/colofon")
    config.add_route("toegankelijkheid", "/toegankelijkheid")
    config.add_route("voorbeelden", "/voorbeelden")
    config.add_route("voorbeeld", "/voorbeelden/{slug}")
    config.add_route("voorbeeld_contact", "/voorbeelden/{slug}/contact")
    config.add_route("themas", "/themas")
    config.add_route("thema", "/themas/{slug}")
    config.add_route("regios", "/regios")
    config.add_route("regio", "/regios/{slug}")
    config.add_route("kennis", "/kennis")
    config.add_route("kennisartikel", "/kennis/{slug}")
    config.add_route("bronnen", "/bronnen")
    config.add_route("bron", "/bronnen/{slug}")
    config.add_route("feed_voorbeelden", "/feeds/voorbeelden.xml")
    config.add_route("sitemap", "/sitemap.xml")
    config.add_route("robots", "/robots.txt")
    config.add_route("api_voorbeelden", "/api/voorbeelden")
    config.add_route("api_voorbeeld", "/api/voorbeelden/{slug}")
    config.add_route("gezondheid", "/gezondheid")

    # Accounts, contributions and the editorial workflow (issue 5). Item routes carry a resource factory whose
    # __acl__ knows the item's owner (portal.security).
    from portal.security import CaseTipResource, ContributionResource

    config.add_route("inloggen", "/inloggen")
    config.add_route("uitloggen", "/uitloggen")
    config.add_route("account_aanvragen", "/account/aanvragen")
    config.add_route("wachtwoord_wijzigen", "/account/wachtwoord")
    config.add_route("wachtwoord_vergeten", "/wachtwoord-vergeten")
    config.add_route("wachtwoord_herstellen", "/wachtwoord-herstellen/{token}")
    config.add_route("bijdragen", "/bijdragen")
    config.add_route("bijdrage", "/bijdragen/{id}", factory=ContributionResource)
    config.add_route("mijn_bijdragen", "/mijn-bijdragen")
    config.add_route("voorbeeld_aanmelden", "/voorbeeld-aanmelden")
    config.add_route("redactie", "/redactie")
    config.add_route("redactie_item", "/redactie/voorbeelden/{id}", factory=ContributionResource)
    config.add_route("redactie_besluit", "/redactie/voorbeelden/{id}/besluit", factory=ContributionResource)
    config.add_route("redactie_bewerken", "/redactie/voorbeelden/{id}/bewerken", factory=ContributionResource)
    config.add_route("redactie_geschiedenis", "/redactie/voorbeelden/{id}/geschiedenis", factory=ContributionResource)
    config.add_route("redactie_revisie", "/redactie/voorbeelden/{id}/revisies/{number}", factory=ContributionResource)
    config.add_route("redactie_herstellen", "/redactie/voorbeelden/{id}/revisies/{number}/herstellen",
                     factory=ContributionResource)
    config.add_route("redactie_offline", "/redactie/voorbeelden/{id}/offline", factory=ContributionResource)
    config.add_route("redactie_online", "/redactie/voorbeelden/{id}/online", factory=ContributionResource)
    config.add_route("redactie_aanmelding", "/redactie/aanmeldingen/{id}", factory=CaseTipResource)
    config.add_route("redactie_vermelding", "/redactie/vermelding")
    config.add_route("beheer_gebruikers", "/beheer/gebruikers")
    config.add_route("beheer_gebruiker", "/beheer/gebruikers/{id}")
    config.add_route("beheer_regios", "/beheer/gebruikers/{id}/regios")
    config.add_route("beheer_aanvraag", "/beheer/aanvragen/{id}")
