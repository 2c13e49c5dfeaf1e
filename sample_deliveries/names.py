"""Synthetic names and streets (direct identifiers that ingest must drop). All cp1252-encodable."""

import numpy as np

SURNAMES = {
    "german": ["Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker",
               "Schulz", "Hoffmann", "Schäfer", "Koch", "Bauer", "Richter", "Klein", "Wolf",
               "Schröder", "Neumann", "Schwarz", "Zimmermann", "Braun", "Krüger", "Hofmann",
               "Hartmann", "Lange", "Schmitt", "Werner", "Krause", "Meier", "Lehmann", "Weiß",
               "Kowalski", "Nowak", "Böhm", "Jäger", "Große"],
    "foreign": ["Yilmaz", "Kaya", "Demir", "Çelik", "Öztürk", "Arslan", "Doğan".replace("ğ", "g"),
                "Kowalczyk", "Wiśniewski".replace("ś", "s"), "Rossi", "Russo", "Papadopoulos",
                "Krasniqi", "Berisha", "Petrović".replace("ć", "c"), "Ivanov", "El Amrani",
                "Benali", "Kumar", "Wang", "Nguyen", "Mensah", "Haddad", "Garcia", "Ferreira"],
    "eu2": ["Ivanova", "Petrov", "Georgiev", "Dimitrov", "Popescu", "Ionescu", "Stoica",
            "Dumitru", "Radu", "Stan", "Constantin", "Mihai", "Nikolova", "Stoyanov", "Lakatos"],
    "refugee": ["Al-Hassan", "Haddad", "Khalil", "Ibrahim", "Mahmoud", "Ahmadi", "Rahimi",
                "Hosseini", "Mohammadi", "Tesfay", "Abdi", "Okafor", "Al-Jabouri", "Karimi"],
    "ukraine": ["Shevchenko", "Kovalenko", "Bondarenko", "Tkachenko", "Kravchenko", "Melnyk",
                "Boyko", "Koval", "Oliynyk", "Lysenko"],
}
FIRST_NAMES_W = ["Anna", "Maria", "Sophie", "Lena", "Julia", "Hannah", "Emma", "Mia", "Jülide",
                 "Ursula", "Gisela", "Renate", "Elif", "Zeynep", "Ayşe".replace("ş", "s"),
                 "Elena", "Ioana", "Fatima", "Amina", "Olena", "Iryna", "Agnieszka", "Chiara",
                 "Désirée", "Zoë", "Małgorzata".replace("ł", "l")]
FIRST_NAMES_M = ["Lukas", "Leon", "Finn", "Paul", "Jonas", "Ben", "Elias", "Noah", "Jürgen",
                 "Klaus", "Günter", "Hans-Peter", "Mehmet", "Mustafa", "Ahmet", "Ion", "Georgi",
                 "Mohammed", "Ali", "Omar", "Oleksandr", "Andrii", "Piotr", "Marco", "René",
                 "Björn"]
STREET_STEMS = ["Mallinckrodt", "Schützen", "Münster", "Bornholmer", "Flur", "Kirch", "Garten",
                "Linden", "Birken", "Eichen", "Ahorn", "Buchen", "Rosen", "Tulpen", "Berg",
                "Wiesen", "Hafen", "Brücken", "Schul", "Markt", "Bahnhof", "Mühlen", "Hof",
                "Feld", "Wald", "Zechen", "Hütten", "Stahlwerk", "Kohlen", "Kolonie", "Hörder",
                "Hansa", "Westfalen", "Ruhr", "Emscher", "Kaiser", "Königs", "Gneisenau",
                "Scharnhorst", "Blücher", "Goethe", "Schiller", "Heine", "Löns", "Körner",
                "Uhland", "Eichendorff", "Brahms", "Mozart", "Händel"]
STREET_SUFFIXES = ["straße", "weg", "allee", "platz", "ring", "gasse"]


def street_table(rng: np.random.Generator, n_districts: int, per_district: int = 30) -> np.ndarray:
    """(n_districts, per_district) array of street names; streets repeat across districts."""
    names = np.array([s + x for s in STREET_STEMS for x in STREET_SUFFIXES])
    return rng.choice(names, size=(n_districts, per_district))
