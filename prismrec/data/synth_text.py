"""Item text of synthetic catalogues: category names per interest cluster and "<Adjective> <Noun> <AB-1234>"
titles from small word lists per theme (clusters of one theme share its nouns), so text retrieval and
encoders see structure."""

from __future__ import annotations

import numpy as np

# theme name, nouns, adjectives: no commas, quotes or "|" (the CSV files are written without quoting)
THEMES: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("audio", ("headphones", "speaker", "earbuds", "amplifier", "soundbar", "turntable", "microphone", "subwoofer"),
     ("wireless", "hi-fi", "stereo", "noise-cancelling", "bass-boosted", "studio")),
    ("kitchen", ("skillet", "saucepan", "blender", "kettle", "toaster", "chef knife", "colander", "whisk"),
     ("nonstick", "stainless", "cast-iron", "copper", "ceramic", "induction")),
    ("camping", ("tent", "sleeping bag", "lantern", "backpack", "camp stove", "hammock", "compass", "cooler"),
     ("waterproof", "ultralight", "rugged", "insulated", "all-season", "trail")),
    ("gardening", ("trowel", "planter", "garden hose", "pruner", "rake", "seed tray", "watering can", "shears"),
     ("organic", "ergonomic", "galvanized", "terracotta", "raised", "heirloom")),
    ("fitness", ("dumbbell", "yoga mat", "kettlebell", "resistance band", "treadmill", "jump rope", "foam roller",
                 "weight bench"), ("adjustable", "non-slip", "cardio", "heavy-duty", "compact", "padded")),
    ("mystery books", ("novel", "thriller", "detective story", "whodunit", "casebook", "crime saga", "chronicle",
                       "anthology"), ("gripping", "noir", "classic", "twisted", "hardboiled", "bestselling")),
    ("science fiction", ("space opera", "starship saga", "android tale", "time travel novel", "first contact story",
                         "colony epic", "robot fable", "galaxy atlas"),
     ("galactic", "dystopian", "cyberpunk", "interstellar", "futuristic", "alien")),
    ("baking", ("cake pan", "muffin tin", "rolling pin", "stand mixer", "proofing basket", "piping set",
                "cooling rack", "loaf pan"), ("silicone", "artisan", "fluted", "springform", "nonstick", "enamel")),
    ("photography", ("camera", "lens", "tripod", "flash", "light meter", "camera bag", "lens filter", "gimbal"),
     ("mirrorless", "telephoto", "wide-angle", "full-frame", "macro", "rangefinder")),
    ("gaming", ("controller", "headset", "keyboard", "mouse", "console", "racing wheel", "joystick", "gaming chair"),
     ("mechanical", "rgb", "esports", "wireless", "low-latency", "arcade")),
    ("pets", ("dog bed", "cat tree", "leash", "chew toy", "litter box", "aquarium", "bird feeder", "pet carrier"),
     ("cozy", "chew-proof", "orthopedic", "reflective", "self-cleaning", "washable")),
    ("beauty", ("serum", "moisturizer", "lipstick", "mascara", "cleanser", "face mask", "perfume", "sunscreen"),
     ("hydrating", "matte", "vegan", "fragrance-free", "radiant", "long-lasting")),
    ("tools", ("drill", "wrench", "screwdriver set", "hammer", "circular saw", "tape measure", "spirit level",
               "socket set"), ("cordless", "magnetic", "torque", "industrial", "precision", "brushless")),
    ("office", ("desk lamp", "notebook", "fountain pen", "stapler", "monitor stand", "planner", "desk organizer",
                "whiteboard"), ("minimalist", "refillable", "ergonomic", "leather", "dotted", "executive")),
    ("toys", ("building blocks", "jigsaw puzzle", "plush bear", "toy train", "doll house", "kite", "board game",
              "robot kit"), ("educational", "colorful", "wooden", "interactive", "magnetic", "glow-in-the-dark")),
    ("instruments", ("guitar", "ukulele", "violin", "digital piano", "drum pad", "flute", "harmonica", "cajon"),
     ("acoustic", "electric", "beginner", "handcrafted", "concert", "travel-size")),
    ("coffee and tea", ("espresso machine", "coffee grinder", "french press", "teapot", "pour-over dripper", "mug",
                        "milk frother", "tea infuser"),
     ("single-origin", "burr", "barista", "double-walled", "programmable", "loose-leaf")),
    ("cycling", ("road bike", "helmet", "bike light", "saddle", "floor pump", "cycling jersey", "bike lock",
                 "bottle cage"), ("carbon", "aero", "clipless", "hi-vis", "tubeless", "gravel")),
    ("home decor", ("vase", "throw pillow", "wall clock", "rug", "candle", "picture frame", "mirror", "table lamp"),
     ("boho", "scandinavian", "rustic", "velvet", "handwoven", "marble")),
    ("outdoor clothing", ("rain jacket", "fleece", "hiking boots", "base layer", "beanie", "gloves",
                          "trekking pants", "softshell"),
     ("breathable", "thermal", "windproof", "merino", "packable", "waterproof")),
    ("smart home", ("smart plug", "thermostat", "doorbell camera", "smart bulb", "home hub", "motion sensor",
                    "robot vacuum", "smart lock"),
     ("voice-controlled", "wifi", "zigbee", "energy-saving", "app-connected", "automated")),
    ("travel", ("suitcase", "carry-on", "packing cubes", "travel pillow", "passport wallet", "duffel bag",
                "luggage tag", "plug adapter"), ("hardshell", "spinner", "expandable", "anti-theft", "lightweight",
                                                 "weekend")),
    ("crafts", ("yarn", "sketchbook", "watercolor set", "embroidery kit", "paint brush", "glue gun",
                "sewing machine", "modeling clay"),
     ("handmade", "pastel", "archival", "beginner-friendly", "metallic", "chunky")),
    ("baby", ("stroller", "baby monitor", "high chair", "crib", "diaper bag", "pacifier", "baby carrier",
              "bottle warmer"), ("convertible", "hypoallergenic", "soft-touch", "foldable", "bpa-free", "newborn")),
)  # fmt: skip
# a variant of a theme (cluster 24 on: "premium audio", ...) adds its own adjectives to the theme's
VARIANTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("premium", ("luxury", "deluxe", "signature", "elite")),
    ("budget", ("basic", "essential", "value", "everyday")),
    ("kids", ("junior", "mini", "playful", "child-safe")),
    ("vintage", ("retro", "antique", "heritage", "old-school")),
    ("eco", ("recycled", "bamboo", "sustainable", "solar")),
    ("pro", ("professional", "advanced", "expert", "performance")),
    ("portable", ("pocket", "foldable", "compact", "on-the-go")),
    ("outdoor", ("weatherproof", "all-terrain", "trail-ready", "sunproof")),
)


def cluster_names(n: int) -> list[str]:
    """`n` distinct category names: the themes, then "<variant> <theme>", then numbered."""
    names = []
    for c in range(n):
        theme = THEMES[c % len(THEMES)][0]
        round_ = c // len(THEMES)
        if round_ == 0:
            names.append(theme)
            continue
        variant = VARIANTS[(round_ - 1) % len(VARIANTS)][0]
        lap = (round_ - 1) // len(VARIANTS)
        names.append(f"{variant} {theme}" + (f" {lap + 1}" if lap else ""))
    return names


def titles(cluster: np.ndarray, n_clusters: int, rng: np.random.Generator) -> list[str]:
    """One "<Adjective> <Noun> <AB-1234>" per item from its cluster's word lists."""
    adjectives = np.empty(len(cluster), dtype=object)
    nouns = np.empty(len(cluster), dtype=object)
    codes = np.empty(len(cluster), dtype=object)
    for c in range(n_clusters):
        members = np.flatnonzero(cluster == c)
        _, theme_nouns, theme_adjectives = THEMES[c % len(THEMES)]
        round_ = c // len(THEMES)
        words = theme_adjectives + (VARIANTS[(round_ - 1) % len(VARIANTS)][1] if round_ else ())
        adjectives[members] = np.asarray(words, dtype=object)[rng.integers(0, len(words), len(members))]
        nouns[members] = np.asarray(theme_nouns, dtype=object)[rng.integers(0, len(theme_nouns), len(members))]
        codes[members] = chr(65 + c % 26) + chr(65 + (c // 26 + 7 * (c % 3)) % 26)
    numbers = rng.integers(100, 10_000, len(cluster))
    return [f"{a.capitalize()} {n.title()} {code}-{number}"
            for a, n, code, number in zip(adjectives, nouns, codes, numbers, strict=True)]  # fmt: skip
