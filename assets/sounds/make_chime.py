"""Generate call-chime.wav: two soft tones (E5 then C5), 0.9 s, 16-bit mono 22.05 kHz.

    python assets/sounds/make_chime.py

Made here from sine waves, so the kiosk ships no third-party sound.
"""

from __future__ import annotations

import math
import struct
import wave
from pathlib import Path

RATE = 22_050
TONES = ((659.25, 0.0, 0.45), (523.25, 0.35, 0.55))  # (Hz, start s, length s)
LENGTH_S = 0.9
VOLUME = 0.35


def samples() -> list[float]:
    out = [0.0] * int(RATE * LENGTH_S)
    for frequency, start, length in TONES:
        first = int(start * RATE)
        for i in range(int(length * RATE)):
            if first + i >= len(out):
                break
            t = i / RATE
            envelope = min(1.0, t / 0.01) * math.exp(-4.0 * t)  # soft attack, bell decay
            overtone = 0.25 * math.sin(2 * math.pi * 2 * frequency * t)
            out[first + i] += envelope * (math.sin(2 * math.pi * frequency * t) + overtone)
    return out


def write(path: Path) -> None:
    data = samples()
    peak = max(abs(s) for s in data) or 1.0
    frames = b"".join(struct.pack("<h", int(32767 * VOLUME * s / peak)) for s in data)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(frames)


if __name__ == "__main__":
    target = Path(__file__).resolve().parent / "call-chime.wav"
    write(target)
    print(f"wrote {target}")
