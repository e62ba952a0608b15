#!/usr/bin/env python3
"""Build assets/demo/shop.db, the sample data the demo jobs export.

Deterministic (fixed seed), so the committed file only changes when this
script does. Run from the repository root: python3 scripts/make-demo-db.py
"""
import random
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

path = Path("assets/demo/shop.db")
path.unlink(missing_ok=True)
db = sqlite3.connect(path)
db.executescript(
    """
    CREATE TABLE customers (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        country TEXT NOT NULL
    );
    CREATE TABLE orders (
        id INTEGER PRIMARY KEY,
        customer_id INTEGER NOT NULL REFERENCES customers(id),
        created_at DATETIME NOT NULL,
        amount REAL NOT NULL,
        paid BOOLEAN NOT NULL,
        note TEXT
    );
    """
)
rng = random.Random(20261122)
customers = [
    ("Ada Lovelace", "GB"), ("Grace Hopper", "US"), ("Zoë Müller", "DE"),
    ("José Álvarez", "ES"), ("田中 花子", "JP"), ("Ólafur Jónsson", "IS"),
    ("Chloé Martin", "FR"), ("Nnamdi Okafor", "NG"), ("Priya Sharma", "IN"),
    ("Lucas Silva", "BR"),
]
db.executemany("INSERT INTO customers (name, country) VALUES (?, ?)", customers)
start = datetime(2026, 1, 1)
notes = [None, "gift wrap", "deliver after 5pm", 'fragile, "handle with care"', "rush"]
rows = []
for i in range(500):
    at = start + timedelta(minutes=rng.randrange(0, 60 * 24 * 365))
    rows.append((
        rng.randrange(1, len(customers) + 1),
        at.strftime("%Y-%m-%d %H:%M:%S"),
        round(rng.uniform(5, 500), 2),
        rng.random() < 0.9,
        rng.choice(notes),
    ))
rows.sort(key=lambda r: r[1])
db.executemany(
    "INSERT INTO orders (customer_id, created_at, amount, paid, note) VALUES (?, ?, ?, ?, ?)", rows
)
db.commit()
db.execute("VACUUM")
db.close()
print(f"wrote {path} ({path.stat().st_size} bytes)")
