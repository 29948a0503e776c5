"""`precision = "auto"`: measure the encoder's modes on this CPU once, keep the fastest that agrees with fp32.

Each mode the CPU supports (torch bf16 needs AVX512-BF16 or AMX; ONNX modes need onnxruntime) encodes
`PROBE_TEXTS` once to warm up, then `ROUNDS` times round-robin (a change in the machine's load hits every
mode alike); its rate is the best round. A mode is chosen only if it beats torch fp32 by `MARGIN` and
its vectors have min cosine ≥ `MIN_COSINE` to fp32 on the probe texts; otherwise fp32 stays.

The choice is written to `encoder-precision/` in the embedding cache folder, keyed by the model, the
batch size, the CPU and the package versions, and read back by every later encoder of that config on
this machine, so the same config keeps giving the same vectors (the embedding cache key holds the
resolved mode, never "auto").
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path

import numpy as np
from filelock import FileLock

from prismrec.semantic.cache import default_cache_dir

FP32, BF16, ONNX_FP32, ONNX_INT8, AUTO = "fp32", "bf16", "onnx-fp32", "onnx-int8", "auto"
MODES = (FP32, BF16, ONNX_FP32, ONNX_INT8)
PRECISIONS = (AUTO, *MODES)
MIN_COSINE = 0.99  # min over the probe texts, any mode against torch fp32
MARGIN = 1.05  # a mode must be this much faster than fp32 to replace it
ROUNDS = 3
RECORDS_FOLDER = "encoder-precision"
RECORD_VERSION = 1
_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_bf16", "amx_int8", "asimddp", "bf16")

# A few dozen fixed catalogue-like texts of varied length (titles, product cards, descriptions).
PROBE_TEXTS: tuple[str, ...] = (
    "Toy Story (1995). Categories: Animation, Children's, Comedy.",
    "GoldenEye (1995). Categories: Action, Adventure, Thriller.",
    "Four Rooms (1995). Categories: Thriller.",
    "Get Shorty (1995). Categories: Action, Comedy, Drama.",
    "Copycat (1995). Categories: Crime, Drama, Thriller.",
    "Twelve Monkeys (1995). Categories: Drama, Sci-Fi.",
    "Babe (1995). Categories: Children's, Comedy, Drama.",
    "Dead Man Walking (1995). Categories: Drama.",
    "Richard III (1995). Categories: Drama, War.",
    "Mighty Aphrodite (1995). Categories: Comedy.",
    "Fire Emblem: The Sacred Stones",
    "GBA 6-Pak Care Case - Game Boy Advance",
    "Super Mario Odyssey - Nintendo Switch",
    "PlayStation 4 Slim 1TB Console",
    "Xbox One Wireless Controller - Black",
    "The Legend of Zelda: Breath of the Wild",
    "Call of Duty: Black Ops III - PlayStation 4 Standard Edition",
    "Amazon.com Gift Card in a Greeting Card (Various Designs)",
    "Turtle Beach Ear Force Recon 50 Stereo Gaming Headset",
    "Minecraft",
    "Green tea gift box with three flavours.",
    "Trail running shoes, waterproof, men's size 10.",
    "Chocolate cake recipe book. Categories: Cooking, Baking.",
    "Stainless steel water bottle, 750 ml, keeps drinks cold for 24 hours.",
    "Wireless noise-cancelling headphones with 30-hour battery life.",
    "Organic coffee beans, medium roast, 1 kg bag. Brand: Mountain Roasters.",
    "A thriller about a detective who hunts a serial killer through the streets of a rainy city.",
    "Children's picture book about a small bear who learns to share his honey with friends.",
    "Cast iron skillet, pre-seasoned, 12 inch. Works on gas, electric and induction hobs.",
    "Yoga mat, non-slip, 6 mm thick, with carrying strap. Categories: Sports, Fitness.",
    "The Shawshank Redemption (1994). Categories: Drama. Tags: prison, friendship, hope, escape.",
    "Star Wars (1977). Categories: Action, Adventure, Romance, Sci-Fi, War.",
    "Pulp Fiction (1994). Categories: Crime, Drama. Description: interlocking stories of crime in Los Angeles.",
    "LEGO Star Wars: The Complete Saga - Nintendo Wii. Build, battle and explore all six films.",
    "Mechanical gaming keyboard with RGB backlight, blue switches and a detachable wrist rest.",
    "Portable charger 20000 mAh, USB-C power delivery, charges two phones at once.",
    "Women's winter jacket, down filled, hooded, water resistant, available in navy and black.",
    "Kitchen knife set, 8 pieces, high-carbon stainless steel, with a wooden block.",
    "Description: A gentle romantic comedy set in Paris, where a baker and a painter keep missing each "
    "other until the last day of summer. Categories: Comedy, Romance.",
    "Description: Strategy game in which the player builds a civilisation from the stone age to the space "
    "age, trading, fighting and negotiating with rival nations. Platform: PC. Categories: Strategy.",
    "Description: This handheld console plays cartridges and downloads, has a seven-inch screen, a "
    "detachable pair of controllers and a kickstand, and lasts up to nine hours on one charge.",
    "Description: A field guide to the birds of Europe with over two thousand colour illustrations, "
    "distribution maps and notes on song, habitat and behaviour for every species.",
    "Title: Ultimate Fighting Arena. Genre: fighting. Players: 1-4. Rating: Teen. Online multiplayer, "
    "twenty characters, training mode, arcade mode and a story campaign with branching endings.",
    "Categories: Electronics, Accessories, Cables. USB-C to Lightning cable, 2 m, braided nylon, MFi certified.",
    "Sci-fi horror: the crew of a deep-space mining ship answers a distress call and finds something alive.",
    "Board game for 2-5 players, ages 10 and up, about 60 minutes: build railways across the continent.",
    "Vitamin D3 supplement, 1000 IU, 365 softgels.",
    "Vintage vinyl record player with built-in speakers and Bluetooth.",
)


@cache
def cpu_info() -> dict[str, object]:
    """{"model": CPU model name, "flags": the instruction sets relevant here, "machine": architecture}."""
    model, flags = "", set()
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        text = ""
    for line in text.splitlines():
        name, _, value = line.partition(":")
        name = name.strip()
        if name == "model name" and not model:
            model = value.strip()
        elif name in ("flags", "Features"):
            flags |= set(value.split())
    model = model or platform.processor() or "unknown"
    return {"model": model, "flags": sorted(f for f in _FLAGS if f in flags), "machine": platform.machine()}


def supported_modes(onnx: bool, info: dict[str, object] | None = None) -> list[str]:
    """The modes worth measuring on this CPU: fp32 always, bf16 with native bf16, ONNX ones with onnxruntime."""
    info = info or cpu_info()
    flags = set(info["flags"])  # type: ignore[arg-type]
    machine = str(info["machine"]).lower()
    modes = [FP32]
    if flags & {"avx512_bf16", "amx_bf16"} or (machine in ("aarch64", "arm64") and "bf16" in flags):
        modes.append(BF16)
    if onnx:
        modes.append(ONNX_FP32)
        if "avx2" in flags or machine in ("aarch64", "arm64"):
            modes.append(ONNX_INT8)
    return modes


@dataclass(frozen=True)
class PrecisionChoice:
    """The outcome of one measurement: the chosen mode and what it was chosen from."""

    mode: str
    rates: dict[str, float]  # probe texts per second, per measured mode
    cosines: dict[str, float]  # min cosine to torch fp32 on the probe texts, per measured mode
    reason: str
    measured_at: float = 0.0
    cpu: dict[str, object] = field(default_factory=dict)
    threads: int = 0

    def summary(self) -> str:
        rates = ", ".join(f"{mode} {rate:.0f}/s (cos {self.cosines.get(mode, 1.0):.4f})"
                          for mode, rate in self.rates.items())  # fmt: skip
        return f"{self.mode}: {self.reason} [{rates}]"


def choose(rates: dict[str, float], cosines: dict[str, float], min_cosine: float = MIN_COSINE,
           margin: float = MARGIN) -> tuple[str, str]:  # fmt: skip
    """(mode, reason): the fastest mode agreeing with fp32, if at least `margin` × as fast as fp32."""
    base = rates[FP32]
    agreeing = {m: r for m, r in rates.items() if m == FP32 or cosines.get(m, 0.0) >= min_cosine}
    best = max(agreeing, key=lambda m: (agreeing[m], m == FP32))
    if best == FP32 or agreeing[best] < base * margin:
        rejected = sorted(set(rates) - set(agreeing))
        note = f"; {', '.join(rejected)} below cosine {min_cosine}" if rejected else ""
        return FP32, f"no mode {margin:.2f}× faster than fp32{note}"
    return best, f"{agreeing[best] / base:.2f}× fp32, min cosine {cosines.get(best, 1.0):.4f}"


def measure(encoders: dict[str, Callable[[list[str]], np.ndarray]], texts: list[str],
            rounds: int = ROUNDS) -> tuple[dict[str, float], dict[str, float]]:  # fmt: skip
    """(rates, min cosines to encoders[FP32]) of each encoder on `texts`: one warm-up, then the best of `rounds`."""
    vectors = {mode: encode(texts) for mode, encode in encoders.items()}  # warm-up
    best = dict.fromkeys(encoders, float("inf"))
    for _ in range(rounds):
        for mode, encode in encoders.items():
            started = time.perf_counter()
            vectors[mode] = encode(texts)
            best[mode] = min(best[mode], time.perf_counter() - started)
    reference = vectors[FP32]
    rates = {mode: len(texts) / max(seconds, 1e-9) for mode, seconds in best.items()}
    cosines = {mode: float(np.min(np.sum(v * reference, axis=1))) for mode, v in vectors.items()}
    return rates, cosines


def record_path(base_id: str, batch_size: int, versions: dict[str, str], cache_root: Path | None = None) -> Path:
    """The file holding the auto choice of this model + batch size on this CPU with these versions."""
    info = cpu_info()
    key = json.dumps([RECORD_VERSION, base_id, batch_size, info, sorted(versions.items())], sort_keys=True)
    root = Path(cache_root) if cache_root is not None else default_cache_dir()
    return root / RECORDS_FOLDER / f"{hashlib.sha1(key.encode()).hexdigest()[:16]}.json"


def read_record(path: Path) -> PrecisionChoice | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        choice = PrecisionChoice(**data)
    except (OSError, ValueError, TypeError):
        return None
    return choice if choice.mode in MODES else None


def resolve(path: Path, run: Callable[[], PrecisionChoice]) -> tuple[PrecisionChoice, bool]:
    """(the recorded choice, or a new one from `run()` written to `path`; whether it was measured now)."""
    choice = read_record(path)
    if choice is not None:
        return choice, False
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock"):  # one process measures; the others read its record
        choice = read_record(path)
        if choice is not None:
            return choice, False
        choice = run()
        part = path.with_suffix(f".{os.getpid()}.part")
        part.write_text(json.dumps(asdict(choice), indent=1), encoding="utf-8")
        part.replace(path)
    return choice, True
