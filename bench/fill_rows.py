"""The catalog rows bench/scale.py and bench/sqlite_fill.py write: the
receiver's upsert of an archive row and the import session it belongs to,
one session of per rows at a time (2 series, two sessions per subject)."""

UPSERT = ("INSERT INTO archive_instances(project, subject, session, series_uid, series_number, series_description, "
          "modality, study_date, sop_uid, path, bytes, import_session, updated) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?) "
          "ON CONFLICT(project, session, sop_uid) DO UPDATE SET bytes = excluded.bytes, updated = excluded.updated")
SESSION = ("INSERT INTO import_sessions(request_id, pacs_id, project, bulk, study_uid, subject, session, state, "
           "queued, started, finished, updated, expected, received, archived, bytes, ms) "
           "VALUES (?,?,?,1,?,?,?,'done',?,?,?,?,?,?,?,?,100)")


def session_tx(i, per, now):
    """Session number i as one transaction: [(SESSION, [row]), (UPSERT, rows)]."""
    subject, session = f"S{i // 2:05d}", f"E{i:05d}"
    rows = []
    for k in range(per):
        series = f"2.25.{i}.{k % 2}"
        sop = f"2.25.{i}.{k % 2}.{k}"
        rows.append(("P1", subject, session, series, str(k % 2 + 1), "synthetic", "MR", "20200101", sop,
                     f"archive/P1/{subject}/{session}/{series}/{sop}.dcm", 600, i + 10, now))
    return [(SESSION, [(1, 1, "P1", f"1.2.826.0.1.{i}", subject, session, now, now, now, now, per, per,
                        per, per * 600)]), (UPSERT, rows)]
