"""What the demo is made of: its lists, trade words, free-mail providers and the copy of its
four-step template. `demo.py` turns these into rows."""

from __future__ import annotations

# list_name: (size, cities (repeats weigh), sectors with weights). Sector names read after
# "in de", as the template uses them: "bedrijven in de {{ branche }}".
DEMO_LISTS: dict[str, tuple[int, tuple[str, ...], dict[str, int]]] = {
    "mkb-utrecht": (
        800,
        ("Utrecht", "Utrecht", "Utrecht", "Amersfoort", "Amersfoort", "Nieuwegein", "Zeist",
         "Veenendaal", "Houten", "IJsselstein", "Woerden", "De Bilt", "Maarssen", "Soest"),
        {"installatietechniek": 3, "tandheelkunde": 2, "fysiotherapie": 2, "accountancy": 2,
         "makelaardij": 2, "autobranche": 2, "kappersbranche": 1, "schoonmaakbranche": 1,
         "hoveniersbranche": 1, "bakkerijbranche": 1},
    ),
    "horeca-amsterdam": (
        500,
        ("Amsterdam", "Amsterdam", "Amsterdam", "Amsterdam", "Amsterdam", "Amstelveen",
         "Diemen", "Zaandam"),
        {"horeca": 1},
    ),
    "bouw-brabant": (
        500,
        ("Eindhoven", "Tilburg", "Breda", "'s-Hertogenbosch", "Helmond", "Oss", "Roosendaal",
         "Bergen op Zoom", "Waalwijk", "Veghel", "Uden", "Oosterhout", "Veldhoven"),
        {"bouw": 6, "installatietechniek": 2, "schildersbranche": 2, "hoveniersbranche": 1},
    ),
    "advocaten-randstad": (
        300,
        ("Amsterdam", "Amsterdam", "Rotterdam", "Rotterdam", "Den Haag", "Den Haag", "Utrecht",
         "Leiden", "Haarlem", "Delft", "Zoetermeer", "Dordrecht"),
        {"advocatuur": 6, "juridische dienstverlening": 1},
    ),
}  # fmt: skip

# sector: (words before a surname: "Bakkerij Jansen", words after it: "Van Dijk Bouw")
TRADE_WORDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "installatietechniek": (("Installatiebedrijf", "Installatietechniek"),
                            ("Installatietechniek", "Installaties", "Klimaattechniek")),
    "tandheelkunde": (("Tandartspraktijk", "Mondzorg"), ("Tandartsen", "Mondzorg")),
    "fysiotherapie": (("Fysiotherapie", "Fysiotherapiepraktijk"), ("Fysiotherapie", "Fysio")),
    "accountancy": (("Administratiekantoor", "Accountantskantoor"),
                    ("Accountants", "Administratie", "Belastingadvies")),
    "makelaardij": (("Makelaardij", "Makelaarskantoor"), ("Makelaardij", "Makelaars", "Wonen")),
    "autobranche": (("Autobedrijf", "Garage", "Autoservice"), ("Auto's", "Autoservice")),
    "kappersbranche": (("Kapsalon", "Haarstudio"), ("Haarmode", "Kappers")),
    "schoonmaakbranche": (("Schoonmaakbedrijf", "Glazenwasserij"),
                          ("Schoonmaak", "Schoonmaakdiensten")),
    "hoveniersbranche": (("Hoveniersbedrijf", "Tuinontwerp"), ("Hoveniers", "Groenvoorziening")),
    "bakkerijbranche": (("Bakkerij", "Warme Bakkerij"), ("Brood & Banket",)),
    "horeca": (("Restaurant", "Café", "Eetcafé", "Brasserie", "Hotel", "Lunchroom", "Bistro"),
               ("Catering", "Events")),
    "bouw": (("Bouwbedrijf", "Aannemersbedrijf", "Timmerbedrijf"),
             ("Bouw", "Bouwgroep", "Aannemers", "Renovatie")),
    "schildersbranche": (("Schildersbedrijf",), ("Schilders", "Schilderwerken")),
    "advocatuur": (("Advocatenkantoor",), ("Advocaten", "Advocatuur", "Legal")),
    "juridische dienstverlening": (("Juridisch Adviesbureau", "Mediationpraktijk"),
                                   ("Juridisch Advies", "Mediation", "Incasso")),
}  # fmt: skip

HORECA_NAMES = ("De Gouden Leeuw", "Het Anker", "De Zwaan", "De Kroon", "Het Hoekje", "De Kade",
                "De Jonge Haan", "Het Pakhuis", "De Buren", "Het Veerhuis", "De Waag", "De Molen",
                "Het Zuiden", "De Overkant", "Stadsgeluk", "De Smaak", "Het Dok", "Oost",
                "Het Bruggetje", "De Tuin", "Het Plein", "De Ooievaar", "De Zon", "Bij Ons",
                "Het Kompas", "De Sluis", "De Linde", "Het Proeflokaal", "De Keuken", "Buurman",
                "De Parel", "Het Gemaal", "De Vuurtoren", "Het Stadshart", "De Lindeboom",
                "Het Wapen van Amsterdam", "Zuidas", "De Vier Seizoenen")  # fmt: skip
# Repeats weigh: mostly Gmail and Hotmail, then the Dutch providers.
FREE_MAIL_PROVIDERS = ("gmail.com", "gmail.com", "gmail.com", "gmail.com", "hotmail.com",
                       "hotmail.com", "hotmail.com", "ziggo.nl", "ziggo.nl", "kpnmail.nl",
                       "kpnmail.nl", "outlook.com", "live.nl", "planet.nl")  # fmt: skip

# Shares of the 2,100 leads carrying each edge.
FREE_MAIL_SHARE, SHARED_DOMAIN_SHARE = 0.04, 0.08
INCOMPLETE, SUPPRESSED, BOUNCED, STOPPED, DELETED, EMAILED = 126, 63, 21, 12, 12, 60

SIGNATURE = "Met vriendelijke groet,\n{{ sender }}\nPunthelder, vindbaarheid in Google voor het mkb"
# (mail_number, subject, paragraphs): the text body; the HTML body is made from the same.
TEMPLATE_STEPS: list[tuple[int, str, list[str]]] = [
    (1, "Vindbaarheid van {{ company }} in Google", [
        "Beste {{ first_name }},",
        "Ik keek deze week naar een aantal bedrijven in de {{ branche }} en kwam zo op "
        "{{ url }} terecht. Een verzorgde site, maar één ding viel me op: de titels en "
        "omschrijvingen waarmee uw pagina's in Google verschijnen, zeggen weinig over wat "
        "{{ company }} doet en waar u zit. Wie in uw regio zoekt, klikt daardoor al snel op "
        "een concurrent, ook als uw aanbod beter past.",
        "Dat is meestal met een paar gerichte aanpassingen op te lossen, zonder nieuwe website.",
        "Zal ik u in een korte mail laten zien wat ik precies zag en wat ik zou aanpassen?",
        SIGNATURE,
    ]),
    (2, "", [
        "Beste {{ first_name }},",
        "Een paar dagen geleden mailde ik u over de vindbaarheid van {{ url }} in Google. "
        "Misschien is dat bericht tussen andere mail geraakt, vandaar nog een korte aanvulling.",
        "Veel bedrijven in de {{ branche }} krijgen hun nieuwe klanten via Google, terwijl hun "
        "site net buiten de eerste resultaten valt. Vaak scheelt het maar een paar aanpassingen.",
        "Heeft u interesse om daar eens kort over te bellen of te mailen?",
        SIGNATURE,
    ]),
    (3, "Gratis quickscan voor {{ company }}", [
        "Beste {{ first_name }},",
        "Om het concreet te maken: ik maak graag een gratis quickscan van {{ url }}. U krijgt "
        "een kort rapport met hoe {{ company }} nu in Google staat, op welke zoekwoorden uit de "
        "{{ branche }} u wel en niet gevonden wordt, en drie verbeterpunten die u direct kunt "
        "oppakken.",
        "Er zitten geen kosten of verplichtingen aan. Een kort \"ja graag\" is genoeg; dan "
        "stuur ik het rapport binnen een paar werkdagen.",
        SIGNATURE,
    ]),
    (4, "", [
        "Beste {{ first_name }},",
        "Ik heb u de afgelopen weken een paar keer gemaild over de vindbaarheid van "
        "{{ company }} in Google. Omdat ik niets hoorde, neem ik aan dat het nu niet het juiste "
        "moment is. Dit is daarom mijn laatste bericht hierover.",
        "Wilt u later toch weten hoe {{ url }} beter gevonden kan worden? Dan kunt u gewoon op "
        "deze mail reageren.",
        "Veel succes met {{ company }}!",
        SIGNATURE,
    ]),
]  # fmt: skip
