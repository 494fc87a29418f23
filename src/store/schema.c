/* schema.c — the catalog's tables. Never edit a released migration: add the
 * next one. Times are Unix seconds (UTC); booleans are 0/1 integers; values
 * marked _enc are sealed by the vault (vault.h) and never hold clear PHI. */
#include "store/schema.h"

/* Migration 18's per-request totals of import_sessions: its counters,
 * as column lists for the triggers that keep them. */
#define RT_COLS "expected, received, archived, rejected, failed, warned, bytes, frames_checked, frames_masked, frames_refused"
#define RT_VALS(r)                                                                                                 \
    r ".expected, " r ".received, " r ".archived, " r ".rejected, " r ".failed, " r ".warned, " r ".bytes, " r  \
      ".frames_checked, " r ".frames_masked, " r ".frames_refused"
#define RT_ONE(c, op, r) c " = " c " " op " " r "." c
#define RT_SET(op, r)                                                                                              \
    RT_ONE("expected", op, r) ", " RT_ONE("received", op, r) ", " RT_ONE("archived", op, r) ", "                \
    RT_ONE("rejected", op, r) ", " RT_ONE("failed", op, r) ", " RT_ONE("warned", op, r) ", "                     \
    RT_ONE("bytes", op, r) ", " RT_ONE("frames_checked", op, r) ", " RT_ONE("frames_masked", op, r) ", "         \
    RT_ONE("frames_refused", op, r)
#define RT_LESS(c) c " = t." c " - d." c
#define RT_LESS_D                                                                                                  \
    RT_LESS("expected") ", " RT_LESS("received") ", " RT_LESS("archived") ", " RT_LESS("rejected") ", "           \
    RT_LESS("failed") ", " RT_LESS("warned") ", " RT_LESS("bytes") ", " RT_LESS("frames_checked") ", "           \
    RT_LESS("frames_masked") ", " RT_LESS("frames_refused")
#define RT_SUMS                                                                                                    \
    "SUM(expected) AS expected, SUM(received) AS received, SUM(archived) AS archived, SUM(rejected) AS rejected, " \
    "SUM(failed) AS failed, SUM(warned) AS warned, SUM(bytes) AS bytes, SUM(frames_checked) AS frames_checked, "   \
    "SUM(frames_masked) AS frames_masked, SUM(frames_refused) AS frames_refused"
/* a session's counters taken out of its request's totals (a state left
 * with none is dropped), or added in */
#define RT_TAKE                                                                                                    \
    " UPDATE import_request_totals SET sessions = sessions - 1, " RT_SET("-", "OLD")                              \
    " WHERE request_id = OLD.request_id AND state = OLD.state;"                                                    \
    " DELETE FROM import_request_totals WHERE request_id = OLD.request_id AND state = OLD.state AND sessions <= 0;"
#define RT_PUT(alias, t)                                                                                           \
    " INSERT INTO import_request_totals" alias "(request_id, state, sessions, " RT_COLS ")"                       \
    " VALUES (NEW.request_id, NEW.state, 1, " RT_VALS("NEW") ")"                                                   \
    " ON CONFLICT (request_id, state) DO UPDATE SET sessions = " t "sessions + 1, " RT_EXCL(t) ";"
/* t: the existing row's qualifier, "" on SQLite (no alias in a trigger's
 * INSERT), "t." on PostgreSQL */
#define RT_EXCL(t)                                                                                                 \
    "expected = " t "expected + excluded.expected, received = " t "received + excluded.received, "                \
    "archived = " t "archived + excluded.archived, rejected = " t "rejected + excluded.rejected, "                \
    "failed = " t "failed + excluded.failed, warned = " t "warned + excluded.warned, "                             \
    "bytes = " t "bytes + excluded.bytes, frames_checked = " t "frames_checked + excluded.frames_checked, "        \
    "frames_masked = " t "frames_masked + excluded.frames_masked, "                                               \
    "frames_refused = " t "frames_refused + excluded.frames_refused"

static const char *const migrations[] = {
    /* 1: users, permissions, PACS registry, projects, settings, query history */
    "CREATE TABLE users ("
    " id {{PK}}, username TEXT NOT NULL UNIQUE, pw_hash TEXT NOT NULL,"
    " role TEXT NOT NULL CHECK (role IN ('admin','user')), phi INTEGER NOT NULL DEFAULT 0,"
    " disabled INTEGER NOT NULL DEFAULT 0, created INTEGER NOT NULL);"
    "CREATE TABLE tokens ("
    " id {{PK}}, user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
    " token_hash TEXT NOT NULL UNIQUE, kind TEXT NOT NULL CHECK (kind IN ('session','api')),"
    " name TEXT, created INTEGER NOT NULL, expires INTEGER NOT NULL DEFAULT 0, last_used INTEGER);"
    "CREATE TABLE pacs ("
    " id {{PK}}, label TEXT NOT NULL UNIQUE, aet TEXT NOT NULL, host TEXT NOT NULL, port INTEGER NOT NULL,"
    " calling_aet TEXT, queryable INTEGER NOT NULL DEFAULT 1, storable INTEGER NOT NULL DEFAULT 0,"
    " default_qr INTEGER NOT NULL DEFAULT 0, default_store INTEGER NOT NULL DEFAULT 0,"
    " protocol TEXT NOT NULL DEFAULT 'dimse' CHECK (protocol IN ('dimse','dicomweb')),"
    " url TEXT, username TEXT, password_enc TEXT,"
    " retrieve TEXT NOT NULL DEFAULT 'move' CHECK (retrieve IN ('move','get')),"
    " timezone TEXT NOT NULL DEFAULT 'UTC', schedule TEXT,"
    " created INTEGER NOT NULL, updated INTEGER NOT NULL);"
    "CREATE TABLE projects ("
    " id TEXT PRIMARY KEY, name TEXT NOT NULL, description TEXT, dqr_enabled INTEGER NOT NULL DEFAULT 0,"
    " script TEXT, created INTEGER NOT NULL, updated INTEGER NOT NULL);"
    "CREATE TABLE grants ("
    " user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
    " kind TEXT NOT NULL CHECK (kind IN ('pacs','project')), target TEXT NOT NULL,"
    " PRIMARY KEY (user_id, kind, target));"
    "CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT);"
    "CREATE TABLE query_history ("
    " id {{PK}}, user_id INTEGER NOT NULL, at INTEGER NOT NULL, pacs_id INTEGER NOT NULL,"
    " level TEXT NOT NULL, status TEXT NOT NULL, results INTEGER NOT NULL DEFAULT 0,"
    " truncated INTEGER NOT NULL DEFAULT 0, ms INTEGER NOT NULL DEFAULT 0, error TEXT, keys_enc TEXT);"
    "CREATE INDEX query_history_user ON query_history(user_id, at);"
    "CREATE TABLE audit ("
    " id {{PK}}, at INTEGER NOT NULL, user_id INTEGER, action TEXT NOT NULL, target TEXT);",

    /* 2: the import queue (one row per requested session, grouped in
     * requests) and the archive index, built from de-identified values only */
    "CREATE TABLE import_requests ("
    " id {{PK}}, user_id INTEGER NOT NULL, pacs_id INTEGER NOT NULL, project TEXT NOT NULL,"
    " bulk INTEGER NOT NULL DEFAULT 0, created INTEGER NOT NULL);"
    "CREATE TABLE import_sessions ("
    " id {{PK}}, request_id INTEGER NOT NULL REFERENCES import_requests(id) ON DELETE CASCADE,"
    " pacs_id INTEGER NOT NULL, project TEXT NOT NULL, bulk INTEGER NOT NULL DEFAULT 0,"
    " study_uid TEXT NOT NULL, series TEXT, subject TEXT NOT NULL, session TEXT NOT NULL, overrides TEXT,"
    " state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, next_try INTEGER NOT NULL DEFAULT 0,"
    " queued INTEGER NOT NULL, started INTEGER, finished INTEGER, updated INTEGER NOT NULL,"
    " expected INTEGER NOT NULL DEFAULT 0, received INTEGER NOT NULL DEFAULT 0,"
    " archived INTEGER NOT NULL DEFAULT 0, rejected INTEGER NOT NULL DEFAULT 0,"
    " failed INTEGER NOT NULL DEFAULT 0, warned INTEGER NOT NULL DEFAULT 0, bytes INTEGER NOT NULL DEFAULT 0,"
    " ms INTEGER NOT NULL DEFAULT 0, error TEXT, next_window TEXT, orig_enc TEXT);"
    "CREATE INDEX import_sessions_queue ON import_sessions(pacs_id, state, bulk, id);"
    "CREATE INDEX import_sessions_request ON import_sessions(request_id);"
    "CREATE TABLE archive_instances ("
    " project TEXT NOT NULL, subject TEXT NOT NULL, session TEXT NOT NULL, series_uid TEXT NOT NULL,"
    " series_number TEXT, series_description TEXT, modality TEXT, study_date TEXT, sop_uid TEXT NOT NULL,"
    " path TEXT NOT NULL, bytes INTEGER NOT NULL, import_session INTEGER, updated INTEGER NOT NULL,"
    " PRIMARY KEY (project, session, sop_uid));"
    "CREATE INDEX archive_instances_subject ON archive_instances(project, subject);",

    /* 3: which of dqr's receivers a PACS sends its C-MOVE results to */
    "ALTER TABLE pacs ADD COLUMN receiver_aet TEXT;",

    /* 4: ids are never handed out twice. SQLite without AUTOINCREMENT reuses
     * the highest rowid once its row is deleted, so a new user inherited a
     * deleted one's imports, history and sealed keys. {{PK}} now expands to
     * AUTOINCREMENT; this rebuilds the tables of older SQLite catalogs with
     * it, keeping every row and id (PostgreSQL's BIGSERIAL never reuses: it
     * skips the rebuild). A child is rebuilt pointing at its parent's new
     * table, so dropping the old parent cascades to nothing; the rename
     * then rewrites the reference. The counters start above every id still
     * named anywhere (history of rows deleted before this migration
     * included). Grants left behind by PACS or projects deleted by a
     * differently spelled path are removed on both backends. */
    "{{only:sqlite}}"
    "CREATE TABLE users_new ("
    " id {{PK}}, username TEXT NOT NULL UNIQUE, pw_hash TEXT NOT NULL,"
    " role TEXT NOT NULL CHECK (role IN ('admin','user')), phi INTEGER NOT NULL DEFAULT 0,"
    " disabled INTEGER NOT NULL DEFAULT 0, created INTEGER NOT NULL);"
    "INSERT INTO users_new SELECT id, username, pw_hash, role, phi, disabled, created FROM users;"
    "CREATE TABLE tokens_new ("
    " id {{PK}}, user_id INTEGER NOT NULL REFERENCES users_new(id) ON DELETE CASCADE,"
    " token_hash TEXT NOT NULL UNIQUE, kind TEXT NOT NULL CHECK (kind IN ('session','api')),"
    " name TEXT, created INTEGER NOT NULL, expires INTEGER NOT NULL DEFAULT 0, last_used INTEGER);"
    "INSERT INTO tokens_new SELECT id, user_id, token_hash, kind, name, created, expires, last_used FROM tokens;"
    "CREATE TABLE grants_new ("
    " user_id INTEGER NOT NULL REFERENCES users_new(id) ON DELETE CASCADE,"
    " kind TEXT NOT NULL CHECK (kind IN ('pacs','project')), target TEXT NOT NULL,"
    " PRIMARY KEY (user_id, kind, target));"
    "INSERT INTO grants_new SELECT user_id, kind, target FROM grants;"
    "CREATE TABLE pacs_new ("
    " id {{PK}}, label TEXT NOT NULL UNIQUE, aet TEXT NOT NULL, host TEXT NOT NULL, port INTEGER NOT NULL,"
    " calling_aet TEXT, queryable INTEGER NOT NULL DEFAULT 1, storable INTEGER NOT NULL DEFAULT 0,"
    " default_qr INTEGER NOT NULL DEFAULT 0, default_store INTEGER NOT NULL DEFAULT 0,"
    " protocol TEXT NOT NULL DEFAULT 'dimse' CHECK (protocol IN ('dimse','dicomweb')),"
    " url TEXT, username TEXT, password_enc TEXT,"
    " retrieve TEXT NOT NULL DEFAULT 'move' CHECK (retrieve IN ('move','get')),"
    " timezone TEXT NOT NULL DEFAULT 'UTC', schedule TEXT,"
    " created INTEGER NOT NULL, updated INTEGER NOT NULL, receiver_aet TEXT);"
    "INSERT INTO pacs_new SELECT id, label, aet, host, port, calling_aet, queryable, storable, default_qr,"
    " default_store, protocol, url, username, password_enc, retrieve, timezone, schedule, created, updated,"
    " receiver_aet FROM pacs;"
    "CREATE TABLE query_history_new ("
    " id {{PK}}, user_id INTEGER NOT NULL, at INTEGER NOT NULL, pacs_id INTEGER NOT NULL,"
    " level TEXT NOT NULL, status TEXT NOT NULL, results INTEGER NOT NULL DEFAULT 0,"
    " truncated INTEGER NOT NULL DEFAULT 0, ms INTEGER NOT NULL DEFAULT 0, error TEXT, keys_enc TEXT);"
    "INSERT INTO query_history_new SELECT id, user_id, at, pacs_id, level, status, results, truncated, ms, error,"
    " keys_enc FROM query_history;"
    "CREATE TABLE audit_new (id {{PK}}, at INTEGER NOT NULL, user_id INTEGER, action TEXT NOT NULL, target TEXT);"
    "INSERT INTO audit_new SELECT id, at, user_id, action, target FROM audit;"
    "CREATE TABLE import_requests_new ("
    " id {{PK}}, user_id INTEGER NOT NULL, pacs_id INTEGER NOT NULL, project TEXT NOT NULL,"
    " bulk INTEGER NOT NULL DEFAULT 0, created INTEGER NOT NULL);"
    "INSERT INTO import_requests_new SELECT id, user_id, pacs_id, project, bulk, created FROM import_requests;"
    "CREATE TABLE import_sessions_new ("
    " id {{PK}}, request_id INTEGER NOT NULL REFERENCES import_requests_new(id) ON DELETE CASCADE,"
    " pacs_id INTEGER NOT NULL, project TEXT NOT NULL, bulk INTEGER NOT NULL DEFAULT 0,"
    " study_uid TEXT NOT NULL, series TEXT, subject TEXT NOT NULL, session TEXT NOT NULL, overrides TEXT,"
    " state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, next_try INTEGER NOT NULL DEFAULT 0,"
    " queued INTEGER NOT NULL, started INTEGER, finished INTEGER, updated INTEGER NOT NULL,"
    " expected INTEGER NOT NULL DEFAULT 0, received INTEGER NOT NULL DEFAULT 0,"
    " archived INTEGER NOT NULL DEFAULT 0, rejected INTEGER NOT NULL DEFAULT 0,"
    " failed INTEGER NOT NULL DEFAULT 0, warned INTEGER NOT NULL DEFAULT 0, bytes INTEGER NOT NULL DEFAULT 0,"
    " ms INTEGER NOT NULL DEFAULT 0, error TEXT, next_window TEXT, orig_enc TEXT);"
    "INSERT INTO import_sessions_new SELECT id, request_id, pacs_id, project, bulk, study_uid, series, subject,"
    " session, overrides, state, attempts, next_try, queued, started, finished, updated, expected, received,"
    " archived, rejected, failed, warned, bytes, ms, error, next_window, orig_enc FROM import_sessions;"
    "INSERT INTO sqlite_sequence(name, seq) SELECT t.name, 0 FROM (SELECT 'users_new' AS name UNION ALL"
    " SELECT 'pacs_new' UNION ALL SELECT 'import_sessions_new') t"
    " WHERE t.name NOT IN (SELECT name FROM sqlite_sequence);"
    "UPDATE sqlite_sequence SET seq = (SELECT COALESCE(MAX(v), 0) FROM (SELECT seq AS v UNION ALL"
    " SELECT MAX(user_id) FROM tokens UNION ALL SELECT MAX(user_id) FROM grants UNION ALL"
    " SELECT MAX(user_id) FROM import_requests UNION ALL SELECT MAX(user_id) FROM query_history UNION ALL"
    " SELECT MAX(user_id) FROM audit)) WHERE name = 'users_new';"
    "UPDATE sqlite_sequence SET seq = (SELECT COALESCE(MAX(v), 0) FROM (SELECT seq AS v UNION ALL"
    " SELECT MAX(pacs_id) FROM import_requests UNION ALL SELECT MAX(pacs_id) FROM import_sessions UNION ALL"
    " SELECT MAX(pacs_id) FROM query_history UNION ALL"
    " SELECT MAX(CAST(target AS INTEGER)) FROM grants WHERE kind = 'pacs')) WHERE name = 'pacs_new';"
    "UPDATE sqlite_sequence SET seq = (SELECT COALESCE(MAX(v), 0) FROM (SELECT seq AS v UNION ALL"
    " SELECT MAX(import_session) FROM archive_instances)) WHERE name = 'import_sessions_new';"
    "DROP TABLE tokens; DROP TABLE grants; DROP TABLE import_sessions;"
    "DROP TABLE users; DROP TABLE pacs; DROP TABLE query_history; DROP TABLE audit; DROP TABLE import_requests;"
    "ALTER TABLE users_new RENAME TO users; ALTER TABLE tokens_new RENAME TO tokens;"
    "ALTER TABLE grants_new RENAME TO grants; ALTER TABLE pacs_new RENAME TO pacs;"
    "ALTER TABLE query_history_new RENAME TO query_history; ALTER TABLE audit_new RENAME TO audit;"
    "ALTER TABLE import_requests_new RENAME TO import_requests;"
    "ALTER TABLE import_sessions_new RENAME TO import_sessions;"
    "CREATE INDEX query_history_user ON query_history(user_id, at);"
    "CREATE INDEX import_sessions_queue ON import_sessions(pacs_id, state, bulk, id);"
    "CREATE INDEX import_sessions_request ON import_sessions(request_id);"
    "{{end}}"
    "DELETE FROM grants WHERE kind = 'pacs' AND target NOT IN (SELECT CAST(id AS TEXT) FROM pacs);"
    "DELETE FROM grants WHERE kind = 'project' AND target NOT IN (SELECT id FROM projects);",

    /* 5: DICOM TLS per PACS (paths of PEM files on the dqr host; the key
     * stays in its file) */
    "ALTER TABLE pacs ADD COLUMN tls INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE pacs ADD COLUMN tls_cert TEXT;"
    "ALTER TABLE pacs ADD COLUMN tls_key TEXT;"
    "ALTER TABLE pacs ADD COLUMN tls_ca TEXT;",
    /* 6: a session's original StudyInstanceUID, chosen series and remapping
     * overrides (which may hold a birth date) sealed in study_enc; study_key
     * is a keyed hash of the StudyInstanceUID (store_vault_tag) for finding
     * a running session by the study its instances carry. The clear columns
     * study_uid (NOT NULL: kept as ''), series and overrides are emptied by
     * the gateway's start. The label index serves the check that a session
     * label belongs to one subject (api_imports.c). */
    "ALTER TABLE import_sessions ADD COLUMN study_key TEXT;"
    "ALTER TABLE import_sessions ADD COLUMN study_enc TEXT;"
    "CREATE INDEX import_sessions_study_key ON import_sessions(study_key, state);"
    "CREATE INDEX import_sessions_label ON import_sessions(project, session);",
    /* 7: where an account comes from: 'local' (password hash here) or
     * 'ldap' (signed in against the directory; its pw_hash is random and
     * matches no password, its role, phi and grants follow its groups) */
    "ALTER TABLE users ADD COLUMN source TEXT NOT NULL DEFAULT 'local';",
    /* 8: a project's pixel-cleaning rules (CTP DicomPixelAnonymizer
     * format), compiled on save like its script; NULL: none */
    "ALTER TABLE projects ADD COLUMN pixel_rules TEXT;",
    /* 9: DICOM clients: the Q/R SCUs that query and retrieve the archive
     * at dqr's own AE (gateway/archive/scp.c), where C-MOVE sends to them
     * (host, port, DICOM TLS files as for a PACS), and the projects each
     * sees; a deleted project leaves every client's list */
    "CREATE TABLE dicom_clients ("
    " id {{PK}}, aet TEXT NOT NULL UNIQUE, host TEXT NOT NULL, port INTEGER NOT NULL,"
    " tls INTEGER NOT NULL DEFAULT 0, tls_cert TEXT, tls_key TEXT, tls_ca TEXT,"
    " created INTEGER NOT NULL, updated INTEGER NOT NULL);"
    "CREATE TABLE dicom_client_projects ("
    " client_id INTEGER NOT NULL REFERENCES dicom_clients(id) ON DELETE CASCADE,"
    " project TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,"
    " PRIMARY KEY (client_id, project));",
    /* 10: the burned-in text check (gateway/import/pixel_verify.c): frames
     * read, masked and refused per session; and per refused frame, its
     * instance sealed in DATA_DIR/quarantine/FILE.sealed with the boxes of
     * the words found (JSON, frame pixels; the words themselves are PHI and
     * are not kept) */
    "ALTER TABLE import_sessions ADD COLUMN frames_checked INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE import_sessions ADD COLUMN frames_masked INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE import_sessions ADD COLUMN frames_refused INTEGER NOT NULL DEFAULT 0;"
    "CREATE TABLE pixel_quarantine ("
    " id {{PK}}, session_id INTEGER NOT NULL, project TEXT NOT NULL, file TEXT NOT NULL,"
    " frame INTEGER NOT NULL, boxes TEXT NOT NULL, reason TEXT NOT NULL, created INTEGER NOT NULL);"
    "CREATE INDEX pixel_quarantine_session ON pixel_quarantine(session_id);",
    /* 11: returning patients (gateway/import/registry.c). subject_registry:
     * per project, a keyed hash (store_vault_tag) of a patient's original
     * IssuerOfPatientID and PatientID -> the subject label it was first
     * archived under; orig_enc holds the originals and the patient's date
     * offset sealed, for the re-identification export. A project's
     * returning-patient policy ('propose' a known label, or 'enforce' it)
     * and per-patient date shift range in days (NULL: off); a session
     * imported under a label the registry disagrees with, forced by its
     * requester. */
    "CREATE TABLE subject_registry ("
    "  project TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,"
    "  patient_key TEXT NOT NULL,"
    "  subject TEXT NOT NULL,"
    "  orig_enc TEXT NOT NULL,"
    "  created INTEGER NOT NULL,"
    "  PRIMARY KEY (project, patient_key));"
    "CREATE INDEX subject_registry_label ON subject_registry(project, subject);"
    "ALTER TABLE projects ADD COLUMN returning_patients TEXT NOT NULL DEFAULT 'propose';"
    "ALTER TABLE projects ADD COLUMN date_shift_min INTEGER;"
    "ALTER TABLE projects ADD COLUMN date_shift_max INTEGER;"
    "ALTER TABLE import_sessions ADD COLUMN subject_forced INTEGER NOT NULL DEFAULT 0;",
    /* 12: PACS that misbehave (docs/import.md): per PACS, how often a series
     * still short after a C-MOVE is asked for again and the first wait
     * (doubling); per session, the query/retrieve level that worked, the
     * series still short at the end (JSON, series numbers and counts: no
     * UID) and what dqr did about the PACS's quirks (a sentence) */
    "ALTER TABLE pacs ADD COLUMN retry_attempts INTEGER NOT NULL DEFAULT 2;"
    "ALTER TABLE pacs ADD COLUMN retry_backoff_seconds INTEGER NOT NULL DEFAULT 2;"
    "ALTER TABLE import_sessions ADD COLUMN retrieve_level TEXT;"
    "ALTER TABLE import_sessions ADD COLUMN missing_series TEXT;"
    "ALTER TABLE import_sessions ADD COLUMN notes TEXT;",
    /* 13: what the DICOMweb and DIMSE servers on the archive answer (QIDO-RS,
     * C-FIND): the de-identified study, patient and instance attributes of
     * each archived instance (values as the scripts left them; NULL for
     * instances archived before this version, which those servers skip) */
    "ALTER TABLE archive_instances ADD COLUMN study_uid TEXT;"
    "ALTER TABLE archive_instances ADD COLUMN study_time TEXT;"
    "ALTER TABLE archive_instances ADD COLUMN accession TEXT;"
    "ALTER TABLE archive_instances ADD COLUMN study_id TEXT;"
    "ALTER TABLE archive_instances ADD COLUMN study_description TEXT;"
    "ALTER TABLE archive_instances ADD COLUMN patient_name TEXT;"
    "ALTER TABLE archive_instances ADD COLUMN patient_id TEXT;"
    "ALTER TABLE archive_instances ADD COLUMN patient_birth_date TEXT;"
    "ALTER TABLE archive_instances ADD COLUMN patient_sex TEXT;"
    "ALTER TABLE archive_instances ADD COLUMN sop_class_uid TEXT;"
    "ALTER TABLE archive_instances ADD COLUMN instance_number TEXT;"
    "ALTER TABLE archive_instances ADD COLUMN transfer_syntax TEXT;"
    "ALTER TABLE archive_instances ADD COLUMN rows_n INTEGER;"
    "ALTER TABLE archive_instances ADD COLUMN columns_n INTEGER;"
    "ALTER TABLE archive_instances ADD COLUMN frames_n INTEGER;"
    "ALTER TABLE archive_instances ADD COLUMN bits_allocated INTEGER;"
    "CREATE INDEX archive_instances_study ON archive_instances(project, study_uid, series_uid);"
    "CREATE INDEX archive_instances_sop ON archive_instances(sop_uid);"
    /* and where an import session's instances came from: 'pacs' (a
     * retrieval the queue ran) or 'stow' (pushed by STOW-RS) */
    "ALTER TABLE import_sessions ADD COLUMN kind TEXT NOT NULL DEFAULT 'pacs';",
    /* 14: a subject's sessions found by (project, subject, session): with
     * only (project, subject), SQLite browsed a subject's sessions through
     * the primary key, reading every row of the project (bench/scale.sh:
     * over a second at 500,000 rows) */
    ("DROP INDEX archive_instances_subject;"
     "CREATE INDEX archive_instances_subject ON archive_instances(project, subject, session);"),
    /* 15: a new project enforces its pseudonym registry (issue #15: a known
     * patient under another label is refused unless forced). Existing
     * projects keep the policy they have: turning refusals on under a
     * running project would fail the imports its scripts and CSVs queue
     * today, so an admin turns them on (PUT /projects/{id}/registry).
     * SQLite cannot change a column's default, so the column is replaced
     * by one with the new default, values copied (the same text suits
     * PostgreSQL). */
    "ALTER TABLE projects ADD COLUMN returning_patients_v15 TEXT NOT NULL DEFAULT 'enforce';"
    "UPDATE projects SET returning_patients_v15 = returning_patients;"
    "ALTER TABLE projects DROP COLUMN returning_patients;"
    "ALTER TABLE projects RENAME COLUMN returning_patients_v15 TO returning_patients;",
    /* 16: several nodes on one catalog (docs/import.md): each node's last
     * heartbeat, and the node running each session, so that a node starting
     * again queues only its own interrupted sessions (and those of nodes gone
     * silent), and a PACS's window counts every node's transfers */
    "CREATE TABLE nodes (name TEXT PRIMARY KEY, seen INTEGER NOT NULL);"
    "ALTER TABLE import_sessions ADD COLUMN node TEXT;"
    "CREATE INDEX import_sessions_running ON import_sessions(state, node);",
    /* 17: per PACS, how a whole session that failed (the PACS did not
     * answer, the association broke) is tried again: the transfers tried
     * before it fails and the first wait (doubling). NULL: the global
     * import_max_attempts and import_retry_seconds */
    "ALTER TABLE pacs ADD COLUMN session_attempts INTEGER;"
    "ALTER TABLE pacs ADD COLUMN session_retry_seconds INTEGER;",
    /* 18: the archive browse's subject list without reading every
     * instance row of the project (bench/scale.sh: a GROUP BY over a
     * million rows took 0.5-1.3 s). archive_sessions holds per (project,
     * subject, session) its instance count, bytes and latest update, kept
     * by triggers on archive_instances in the writing statement's own
     * transaction, whoever writes (receiver, STOW-RS, reindex, fsck repair,
     * deletes). A delete lowers the counts and drops a session left empty;
     * a row moved to another subject takes its share along (a session keeps
     * one subject, so this is rare and may read the old one's rows); the
     * latest update after a partial delete is set again by the deleter
     * (gw_archive_summary_refresh: one pass, where a trigger would read the
     * session once per deleted row). Filled from the rows already there. */
    "CREATE TABLE archive_sessions ("
    " project TEXT NOT NULL, subject TEXT NOT NULL, session TEXT NOT NULL,"
    " instances INTEGER NOT NULL, bytes INTEGER NOT NULL, updated INTEGER NOT NULL,"
    " PRIMARY KEY (project, subject, session));"
    "INSERT INTO archive_sessions(project, subject, session, instances, bytes, updated)"
    " SELECT project, subject, session, COUNT(*), SUM(bytes), MAX(updated) FROM archive_instances"
    " GROUP BY project, subject, session;"
    "{{only:sqlite}}"
    "CREATE TRIGGER archive_sessions_insert AFTER INSERT ON archive_instances BEGIN"
    " INSERT INTO archive_sessions(project, subject, session, instances, bytes, updated)"
    " VALUES (NEW.project, NEW.subject, NEW.session, 1, NEW.bytes, NEW.updated)"
    " ON CONFLICT(project, subject, session) DO UPDATE SET instances = instances + 1,"
    " bytes = bytes + excluded.bytes, updated = MAX(updated, excluded.updated);"
    " END;"
    "CREATE TRIGGER archive_sessions_delete AFTER DELETE ON archive_instances BEGIN"
    " UPDATE archive_sessions SET instances = instances - 1, bytes = bytes - OLD.bytes"
    " WHERE project = OLD.project AND subject = OLD.subject AND session = OLD.session;"
    " DELETE FROM archive_sessions WHERE project = OLD.project AND subject = OLD.subject"
    " AND session = OLD.session AND instances <= 0;"
    " END;"
    /* an upsert that kept the row's session: its bytes and time only */
    "CREATE TRIGGER archive_sessions_update AFTER UPDATE OF project, subject, session, bytes, updated"
    " ON archive_instances WHEN OLD.project = NEW.project AND OLD.subject = NEW.subject"
    " AND OLD.session = NEW.session BEGIN"
    " UPDATE archive_sessions SET bytes = bytes - OLD.bytes + NEW.bytes, updated = MAX(updated, NEW.updated)"
    " WHERE project = NEW.project AND subject = NEW.subject AND session = NEW.session;"
    " END;"
    "CREATE TRIGGER archive_sessions_move AFTER UPDATE OF project, subject, session ON archive_instances"
    " WHEN OLD.project <> NEW.project OR OLD.subject <> NEW.subject OR OLD.session <> NEW.session BEGIN"
    " UPDATE archive_sessions SET instances = instances - 1, bytes = bytes - OLD.bytes"
    " WHERE project = OLD.project AND subject = OLD.subject AND session = OLD.session;"
    " DELETE FROM archive_sessions WHERE project = OLD.project AND subject = OLD.subject"
    " AND session = OLD.session AND instances <= 0;"
    " UPDATE archive_sessions SET updated = (SELECT MAX(a.updated) FROM archive_instances a"
    " WHERE a.project = OLD.project AND a.session = OLD.session AND a.subject = OLD.subject)"
    " WHERE project = OLD.project AND subject = OLD.subject AND session = OLD.session AND updated <= OLD.updated;"
    " INSERT INTO archive_sessions(project, subject, session, instances, bytes, updated)"
    " VALUES (NEW.project, NEW.subject, NEW.session, 1, NEW.bytes, NEW.updated)"
    " ON CONFLICT(project, subject, session) DO UPDATE SET instances = instances + 1,"
    " bytes = bytes + excluded.bytes, updated = MAX(updated, excluded.updated);"
    " END;"
    "{{end}}"
    "{{only:postgresql}}"
    "CREATE FUNCTION archive_sessions_track() RETURNS trigger LANGUAGE plpgsql AS $$"
    " BEGIN"
    "  IF TG_OP = 'UPDATE' AND OLD.project = NEW.project AND OLD.subject = NEW.subject"
    "     AND OLD.session = NEW.session THEN"
    "   UPDATE archive_sessions SET bytes = bytes - OLD.bytes + NEW.bytes, updated = GREATEST(updated, NEW.updated)"
    "    WHERE project = NEW.project AND subject = NEW.subject AND session = NEW.session;"
    "   RETURN NULL;"
    "  END IF;"
    "  IF TG_OP <> 'INSERT' THEN"
    "   UPDATE archive_sessions SET instances = instances - 1, bytes = bytes - OLD.bytes"
    "    WHERE project = OLD.project AND subject = OLD.subject AND session = OLD.session;"
    "   DELETE FROM archive_sessions WHERE project = OLD.project AND subject = OLD.subject"
    "    AND session = OLD.session AND instances <= 0;"
    "  END IF;"
    "  IF TG_OP = 'UPDATE' THEN"
    "   UPDATE archive_sessions SET updated = (SELECT MAX(a.updated) FROM archive_instances a"
    "    WHERE a.project = OLD.project AND a.session = OLD.session AND a.subject = OLD.subject)"
    "    WHERE project = OLD.project AND subject = OLD.subject AND session = OLD.session AND updated <= OLD.updated;"
    "  END IF;"
    "  IF TG_OP <> 'DELETE' THEN"
    "   INSERT INTO archive_sessions AS s(project, subject, session, instances, bytes, updated)"
    "    VALUES (NEW.project, NEW.subject, NEW.session, 1, NEW.bytes, NEW.updated)"
    "    ON CONFLICT (project, subject, session) DO UPDATE SET instances = s.instances + 1,"
    "    bytes = s.bytes + excluded.bytes, updated = GREATEST(s.updated, excluded.updated);"
    "  END IF;"
    "  RETURN NULL;"
    " END $$;"
    "CREATE TRIGGER archive_sessions_track AFTER INSERT OR UPDATE OR DELETE ON archive_instances"
    " FOR EACH ROW EXECUTE PROCEDURE archive_sessions_track();"
    "{{end}}"
    /* and the scheduler's question, which PACS have a session ready to
     * start, answered by one seek per PACS instead of reading every queued
     * session (10,000 waiting for a retry: a pass of 6-8 ms on PostgreSQL) */
    "CREATE INDEX import_sessions_ready ON import_sessions(pacs_id, state, next_try);"
    /* and the import list (GET /imports) without a pass over each request's
     * sessions (a CSV import has 10,000): per request and session state,
     * how many sessions and their summed counters, kept by triggers on
     * import_sessions like archive_sessions; a request's first error found
     * through a partial index of the sessions that have one */
    "CREATE TABLE import_request_totals ("
    " request_id INTEGER NOT NULL, state TEXT NOT NULL, sessions INTEGER NOT NULL,"
    " expected INTEGER NOT NULL, received INTEGER NOT NULL, archived INTEGER NOT NULL, rejected INTEGER NOT NULL,"
    " failed INTEGER NOT NULL, warned INTEGER NOT NULL, bytes INTEGER NOT NULL, frames_checked INTEGER NOT NULL,"
    " frames_masked INTEGER NOT NULL, frames_refused INTEGER NOT NULL, PRIMARY KEY (request_id, state));"
    "INSERT INTO import_request_totals(request_id, state, sessions, " RT_COLS ")"
    " SELECT request_id, state, COUNT(*), SUM(expected), SUM(received), SUM(archived), SUM(rejected), SUM(failed),"
    " SUM(warned), SUM(bytes), SUM(frames_checked), SUM(frames_masked), SUM(frames_refused) FROM import_sessions"
    " GROUP BY request_id, state;"
    "CREATE INDEX import_sessions_errors ON import_sessions(request_id, id) WHERE error IS NOT NULL;"
    "{{only:sqlite}}"
    "CREATE TRIGGER import_request_totals_insert AFTER INSERT ON import_sessions BEGIN" RT_PUT("", "") " END;"
    "CREATE TRIGGER import_request_totals_delete AFTER DELETE ON import_sessions BEGIN" RT_TAKE " END;"
    "CREATE TRIGGER import_request_totals_update AFTER UPDATE OF request_id, state, " RT_COLS
    " ON import_sessions BEGIN" RT_TAKE RT_PUT("", "") " END;"
    "{{end}}"
    /* PostgreSQL: once per statement over its transition tables, grouped:
     * row by row, 10,000 sessions changing state in one statement updated
     * the same totals row 10,000 times in one transaction, each update
     * walking the versions before it (3.4 s) */
    "{{only:postgresql}}"
    "CREATE FUNCTION import_request_totals_track() RETURNS trigger LANGUAGE plpgsql AS $$"
    " BEGIN"
    /* a statement that changed no session (the scheduler's, mostly): done;
     * each test in its own IF, as a trigger sees only its own tables */
    "  IF TG_OP = 'DELETE' THEN"
    "   IF NOT EXISTS (SELECT 1 FROM rt_old) THEN RETURN NULL; END IF;"
    "  ELSIF NOT EXISTS (SELECT 1 FROM rt_new) THEN"
    "   RETURN NULL;"
    "  END IF;"
    "  IF TG_OP <> 'INSERT' THEN"
    "   UPDATE import_request_totals t SET sessions = t.sessions - d.sessions, " RT_LESS_D
    "    FROM (SELECT request_id, state, COUNT(*) AS sessions, " RT_SUMS " FROM rt_old GROUP BY request_id, state) d"
    "    WHERE t.request_id = d.request_id AND t.state = d.state;"
    "   DELETE FROM import_request_totals t USING (SELECT DISTINCT request_id, state FROM rt_old) d"
    "    WHERE t.request_id = d.request_id AND t.state = d.state AND t.sessions <= 0;"
    "  END IF;"
    "  IF TG_OP <> 'DELETE' THEN"
    "   INSERT INTO import_request_totals AS t(request_id, state, sessions, " RT_COLS ")"
    "    SELECT request_id, state, COUNT(*), " RT_SUMS " FROM rt_new GROUP BY request_id, state"
    "    ON CONFLICT (request_id, state) DO UPDATE SET sessions = t.sessions + excluded.sessions, " RT_EXCL("t.") ";"
    "  END IF;"
    "  RETURN NULL;"
    " END $$;"
    "CREATE TRIGGER import_request_totals_insert AFTER INSERT ON import_sessions REFERENCING NEW TABLE AS rt_new"
    " FOR EACH STATEMENT EXECUTE PROCEDURE import_request_totals_track();"
    "CREATE TRIGGER import_request_totals_delete AFTER DELETE ON import_sessions REFERENCING OLD TABLE AS rt_old"
    " FOR EACH STATEMENT EXECUTE PROCEDURE import_request_totals_track();"
    "CREATE TRIGGER import_request_totals_update AFTER UPDATE ON import_sessions"
    " REFERENCING OLD TABLE AS rt_old NEW TABLE AS rt_new"
    " FOR EACH STATEMENT EXECUTE PROCEDURE import_request_totals_track();"
    "{{end}}",
    /* 19: PostgreSQL: migration 18's archive_sessions lowered by a delete
     * once per statement over its transition table, grouped by session, as
     * import_request_totals is: row by row, one DELETE of a 100,000-instance
     * session (api_archive.c) updated its summary row 100,000 times in one
     * transaction, each update walking the versions before it (150-250 s;
     * 1,000 rows: 34 ms, now 7; bench/session_delete.sh). Inserts and
     * updates keep the row trigger: dqr writes them one row a statement
     * (the receiver's upsert, STOW-RS, fsck), where statement triggers cost
     * the upsert 13 % of its rate (a bulk INSERT or UPDATE of 100,000 rows
     * of one session still takes about 100 s). Each change is an UPDATE of
     * the summary row in place, which waits for and then reads another
     * node's concurrent change to it (no lost update); a session left empty
     * is dropped, and its latest update is still set by the deleter. SQLite keeps its row
     * triggers (it has no statement triggers). */
    "{{only:postgresql}}"
    "CREATE FUNCTION archive_sessions_take() RETURNS trigger LANGUAGE plpgsql AS $$"
    " BEGIN"
    "  IF NOT EXISTS (SELECT 1 FROM as_old) THEN RETURN NULL; END IF;"
    "  UPDATE archive_sessions s SET instances = s.instances - d.n, bytes = s.bytes - d.b"
    "   FROM (SELECT project, subject, session, COUNT(*) AS n, SUM(bytes) AS b FROM as_old"
    "    GROUP BY project, subject, session) d"
    "   WHERE s.project = d.project AND s.subject = d.subject AND s.session = d.session;"
    "  DELETE FROM archive_sessions s USING (SELECT DISTINCT project, subject, session FROM as_old) d"
    "   WHERE s.project = d.project AND s.subject = d.subject AND s.session = d.session AND s.instances <= 0;"
    "  RETURN NULL;"
    " END $$;"
    "DROP TRIGGER archive_sessions_track ON archive_instances;"
    "CREATE TRIGGER archive_sessions_track AFTER INSERT OR UPDATE ON archive_instances"
    " FOR EACH ROW EXECUTE PROCEDURE archive_sessions_track();"
    "CREATE TRIGGER archive_sessions_delete AFTER DELETE ON archive_instances REFERENCING OLD TABLE AS as_old"
    " FOR EACH STATEMENT EXECUTE PROCEDURE archive_sessions_take();"
    "{{end}}",
    /* 20: the archive's query text is UTF-8 since this version (it was the
     * instance's own bytes, Latin-1 for most): rows with anything but
     * printable ASCII in a text column are indexed again from their files
     * by the start's backfill (import/reindex.c), which converts them */
    "UPDATE archive_instances SET study_uid = NULL WHERE study_uid IS NOT NULL AND ("
    "{{only:sqlite}}"
    " series_description GLOB '*[^ -~]*' OR study_description GLOB '*[^ -~]*' OR patient_name GLOB '*[^ -~]*'"
    " OR patient_id GLOB '*[^ -~]*' OR accession GLOB '*[^ -~]*' OR study_id GLOB '*[^ -~]*'"
    "{{end}}"
    "{{only:postgresql}}"
    " series_description ~ '[^ -~]' OR study_description ~ '[^ -~]' OR patient_name ~ '[^ -~]'"
    " OR patient_id ~ '[^ -~]' OR accession ~ '[^ -~]' OR study_id ~ '[^ -~]'"
    "{{end}}"
    ");",
    /* 21: the associations each running session holds at its PACS (1, more
     * while its series move in parallel), so that nodes sharing a catalog
     * keep a window's threads together (import/nodes.c) */
    "ALTER TABLE import_sessions ADD COLUMN slots INTEGER NOT NULL DEFAULT 1;",
};

const char *const *store_migrations(size_t *n)
{
    *n = sizeof migrations / sizeof migrations[0];
    return migrations;
}
