/* index.c — the catalog row of an instance just archived (step 7 of the
 * pipeline): its location and the de-identified attributes the archive's
 * query services match on (archive/catalog_query.c reads them). Text is
 * kept in UTF-8 whatever the instance's Specific Character Set, so one
 * catalog answers QIDO-RS (JSON is UTF-8), C-FIND (ISO_IR 192) and the
 * archive browse alike, and a PostgreSQL catalog in UTF-8 accepts it. */
#include "gateway/import/index.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The first value of tag in ds as UTF-8, or NULL when absent or empty
 * (no range matches NULL). Caller frees. */
static char *first_value(const dcm_dataset *ds, uint32_t tag, const dcm_charset *cs)
{
    const dcm_element *el = dcm_dataset_get(ds, tag);
    char *t = el ? dcm_element_text(el, cs) : NULL;
    char *cut = t ? strchr(t, '\\') : NULL;
    if (cut)
        *cut = '\0';
    if (t && !*t)
        free(t), t = NULL;
    return t;
}

#define T(g, e) DCM_TAG(0x##g, 0x##e)

dqr_status gw_archive_index(gw *g, const gw_archive_row *w, dcm_file *f, dqr_error *err)
{
    static const uint32_t text_tags[] = {
        T(0020, 000E), T(0020, 0011), T(0008, 103E), T(0008, 0060), T(0008, 0020), T(0008, 0018),
        T(0020, 000D), T(0008, 0030), T(0008, 0050), T(0020, 0010), T(0008, 1030), T(0010, 0010),
        T(0010, 0020), T(0010, 0030), T(0010, 0040), T(0008, 0016), T(0020, 0013),
    };
    enum { NTEXT = sizeof text_tags / sizeof text_tags[0] };
    static const uint32_t int_tags[] = {T(0028, 0010), T(0028, 0011), T(0028, 0008), T(0028, 0100)};
    const dcm_dataset *ds = dcm_file_dataset(f);
    dcm_charset *owned = NULL;
    const dcm_charset *cs = dcm_dataset_charset(ds, NULL, &owned, NULL);
    char *text[NTEXT];
    store_val args[5 + NTEXT + 4 + 3];
    int n = 0;
    args[n++] = STORE_S(w->project), args[n++] = STORE_S(w->subject), args[n++] = STORE_S(w->session);
    for (size_t i = 0; i < NTEXT; i++) {
        text[i] = first_value(ds, text_tags[i], cs);
        args[n++] = STORE_S(text[i]);
    }
    dcm_charset_free(owned);
    for (size_t i = 0; i < 4; i++) {
        long v = 0;
        args[n++] = dcm_dataset_get_int(ds, int_tags[i], &v) ? STORE_I(v) : STORE_S(NULL);
    }
    args[n++] = STORE_S(dcm_file_transfer_syntax(f));
    args[n++] = STORE_S(w->path), args[n++] = STORE_I(w->bytes);
    args[n++] = STORE_I(w->import_session), args[n++] = STORE_I(time(NULL));
    dqr_status st = store_exec(
        g->db,
        "INSERT INTO archive_instances(project, subject, session, series_uid, series_number, series_description, "
        "modality, study_date, sop_uid, study_uid, study_time, accession, study_id, study_description, patient_name, "
        "patient_id, patient_birth_date, patient_sex, sop_class_uid, instance_number, rows_n, columns_n, frames_n, "
        "bits_allocated, transfer_syntax, path, bytes, import_session, updated) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT(project, session, sop_uid) DO UPDATE SET subject = excluded.subject, "
        "series_uid = excluded.series_uid, series_number = excluded.series_number, "
        "series_description = excluded.series_description, modality = excluded.modality, "
        "study_date = excluded.study_date, study_uid = excluded.study_uid, study_time = excluded.study_time, "
        "accession = excluded.accession, study_id = excluded.study_id, study_description = excluded.study_description, "
        "patient_name = excluded.patient_name, patient_id = excluded.patient_id, "
        "patient_birth_date = excluded.patient_birth_date, patient_sex = excluded.patient_sex, "
        "sop_class_uid = excluded.sop_class_uid, instance_number = excluded.instance_number, "
        "rows_n = excluded.rows_n, columns_n = excluded.columns_n, frames_n = excluded.frames_n, "
        "bits_allocated = excluded.bits_allocated, transfer_syntax = excluded.transfer_syntax, path = excluded.path, "
        "bytes = excluded.bytes, import_session = excluded.import_session, updated = excluded.updated",
        args, n, NULL, NULL, NULL, err);
    for (size_t i = 0; i < NTEXT; i++)
        free(text[i]);
    return st;
}

dqr_status gw_archive_summary_refresh(store *db, const char *project, const char *session, dqr_error *err)
{
    return store_exec(db,
                      "UPDATE archive_sessions SET updated = COALESCE((SELECT MAX(a.updated) FROM archive_instances a "
                      "WHERE a.project = archive_sessions.project AND a.session = archive_sessions.session AND "
                      "a.subject = archive_sessions.subject), updated) WHERE project = ? AND session = ?",
                      (store_val[]){STORE_S(project), STORE_S(session)}, 2, NULL, NULL, NULL, err);
}
