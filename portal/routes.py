"""The route table. Route names are part of the public contract (tests pin them)."""


def includeme(config):
    config.add_static_view("static", "portal:static", cache_max_age=3600)
    config.add_route("home", "/")
    config.add_route("over", "/over")
    config.add_route("voorbeelden", "/voorbeelden")
    config.add_route("voorbeeld", "/voorbeelden/{slug}")
    config.add_route("themas", "/themas")
    config.add_route("thema", "/themas/{slug}")
    config.add_route("regios", "/regios")
    config.add_route("regio", "/regios/{slug}")
    config.add_route("kennis", "/kennis")
    config.add_route("kennisartikel", "/kennis/{slug}")
    config.add_route("bronnen", "/bronnen")
    config.add_route("bron", "/bronnen/{slug}")
    config.add_route("api_voorbeelden", "/api/voorbeelden")
    config.add_route("api_voorbeeld", "/api/voorbeelden/{slug}")
