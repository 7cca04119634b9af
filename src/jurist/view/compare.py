"""Two runs over the same items side by side, joined on item id in SQLite, with the
items where they disagree (a different status or verdict, or scores a point apart)."""

from __future__ import annotations

from dataclasses import dataclass, field

from jurist.view.index import RunIndex

_DISAGREE = """(
    ia.status != ib.status
    OR COALESCE(ia.verdict, '') != COALESCE(ib.verdict, '')
    OR EXISTS (
        SELECT 1 FROM scores sa JOIN b.scores sb
          ON sb.criterion = sa.criterion AND sb.pos = ib.pos
        WHERE sa.pos = ia.pos
          AND (sa.status != sb.status OR ABS(sa.score - sb.score) >= 1)
    )
)"""


@dataclass(frozen=True)
class CompareRow:
    item_id: str
    pos_a: int
    pos_b: int
    status_a: str
    status_b: str
    verdict_a: str | None
    verdict_b: str | None
    scores: dict[str, tuple[float | None, float | None]] = field(default_factory=dict)


@dataclass(frozen=True)
class CompareTable:
    criteria: list[str]
    shared: int
    disagreeing: int
    total: int
    rows: list[CompareRow]


def compare_runs(
    a: RunIndex, b: RunIndex, *, only_disagreements: bool, offset: int, limit: int
) -> CompareTable:
    """A page of items both runs judged, optionally only those where they disagree."""
    criteria = [c for c in a.info.criteria if c in b.info.criteria]
    join = "FROM items ia JOIN b.items ib ON ib.item_id = ia.item_id"
    with a.connect() as db:
        db.execute("ATTACH DATABASE ? AS b", (f"file:{b.path}?mode=ro",))
        shared = int(db.execute(f"SELECT COUNT(*) {join}").fetchone()[0])
        disagreeing = int(db.execute(f"SELECT COUNT(*) {join} WHERE {_DISAGREE}").fetchone()[0])
        where = f"WHERE {_DISAGREE}" if only_disagreements else ""
        rows = db.execute(
            "SELECT ia.item_id, ia.pos, ib.pos, ia.status, ib.status, ia.verdict, ib.verdict "
            f"{join} {where} ORDER BY ia.pos LIMIT ? OFFSET ?",
            (limit, offset),
        ).fetchall()
        out = []
        for r in rows:
            scores: dict[str, tuple[float | None, float | None]] = {}
            for c in criteria:
                sa = db.execute(
                    "SELECT score FROM scores WHERE criterion = ? AND pos = ?", (c, r[1])
                ).fetchone()
                sb = db.execute(
                    "SELECT score FROM b.scores WHERE criterion = ? AND pos = ?", (c, r[2])
                ).fetchone()
                scores[c] = (sa[0] if sa else None, sb[0] if sb else None)
            out.append(CompareRow(r[0], r[1], r[2], r[3], r[4], r[5], r[6], scores))
    return CompareTable(
        criteria, shared, disagreeing, disagreeing if only_disagreements else shared, out
    )
