/* registry.c — the pseudonym registry of returning patients (registry.h).
 *
 * A patient is bound to a label when the first instance of an import of it
 * is archived, not when the import is created: from then on the archive
 * holds the patient under that label, while a request that is refused,
 * cancelled or fails before archiving anything leaves no trace, so a typo
 * in a request cannot claim a label for a patient. The first label stays:
 * a forced import under another label does not move it.
 *
 * The per-patient date offset is derived from a second keyed hash of the
 * patient (another input than the lookup key's, so the stored key tells
 * nothing of it): two sessions of a new patient running at once get the
 * same offset without a lock, and once bound, the offset sealed in the
 * registry wins, so changing the project's range later does not move the
 * dates of a patient already imported. */
#include "gateway/import/registry.h"
#include "gateway/accounts/audit.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

void gw_registry_key(gw *g, const char *project, const char *issuer, const char *patient_id, char key[65])
{
    *key = '\0';
    if (!patient_id || !*patient_id)
        return;
    /* the unit separator keeps ("A", "BC") and ("AB", "C") apart */
    char buf[512];
    int n = snprintf(buf, sizeof buf, "registry\x1f%s\x1f%s\x1f%s", project, issuer ? issuer : "", patient_id);
    if (n > 0 && (size_t)n < sizeof buf)
        store_vault_tag(g->vault, buf, (size_t)n, key);
    sodium_memzero(buf, sizeof buf);
}

static int copy_text(void *ctx, int n, const char *const *names, const store_val *c)
{
    (void)names;
    if (n > 0 && c[0].type == STORE_TEXT)
        snprintf(ctx, 65, "%s", c[0].s);
    return 1;
}

/* The label of the patient of key in project into subject[65] ("" when unknown). */
static void label_of(gw *g, const char *project, const char *key, char subject[65])
{
    *subject = '\0';
    store_exec(g->db, "SELECT subject FROM subject_registry WHERE project = ? AND patient_key = ?",
               (store_val[]){STORE_S(project), STORE_S(key)}, 2, copy_text, subject, NULL, NULL);
}

/* Whether subject belongs to a patient other than key's in project. */
static bool label_taken(gw *g, const char *project, const char *subject, const char *key)
{
    char other[65] = "";
    store_exec(g->db, "SELECT patient_key FROM subject_registry WHERE project = ? AND subject = ? AND patient_key <> ?",
               (store_val[]){STORE_S(project), STORE_S(subject), STORE_S(key)}, 3, copy_text, other, NULL, NULL);
    return *other != '\0';
}

bool gw_registry_conflict(gw *g, const char *project, const char *key, const char *subject, char known[65], char *msg,
                          size_t len)
{
    *known = '\0';
    if (!*key)
        return false;
    label_of(g, project, key, known);
    if (*known && subject && strcmp(known, subject) != 0)
        return snprintf(msg, len, "this patient is known as subject %s in project %s, not %s: import it as %s, or "
                                  "send \"force\": true",
                        known, project, subject, known),
               true;
    if (!*known && subject && label_taken(g, project, subject, key))
        return snprintf(msg, len, "subject %s in project %s belongs to another patient: choose another label, or send "
                                  "\"force\": true",
                        subject, project),
               true;
    return false;
}

bool gw_registry_enforced(gw *g, const char *project)
{
    int64_t n = 0;
    store_int(g->db, "SELECT COUNT(*) FROM projects WHERE id = ? AND returning_patients = 'enforce'",
              (store_val[]){STORE_S(project)}, 1, &n, NULL);
    return n > 0;
}

/* The key of a query answer or request study (its original identifiers). */
static void key_of_row(gw *g, const char *project, const json_t *row, char key[65])
{
    gw_registry_key(g, project, json_string_value(json_object_get(row, "IssuerOfPatientID")),
                    json_string_value(json_object_get(row, "PatientID")), key);
}

bool gw_registry_annotate(gw *g, const char *project, json_t *row, const char *subject, char *msg, size_t len)
{
    char key[65], known[65];
    key_of_row(g, project, row, key);
    bool conflict = gw_registry_conflict(g, project, key, subject, known, msg, len);
    if (*known)
        json_object_set_new(row, "known_subject", json_string(known));
    return conflict;
}

bool gw_registry_annotate_all(gw *g, const char *project, json_t *results)
{
    size_t i;
    json_t *row;
    char msg[8];
    json_array_foreach(results, i, row) gw_registry_annotate(g, project, row, NULL, msg, sizeof msg);
    return true;
}

bool gw_registry_csv_match(gw *g, const char *project, const json_t *m, const char *subject, json_t *study,
                           json_t *shown, bool force)
{
    static const char *const ids[] = {"PatientID", "IssuerOfPatientID"};
    for (int i = 0; i < 2; i++)
        if (json_is_string(json_object_get(m, ids[i])))
            json_object_set(study, ids[i], json_object_get(m, ids[i]));
    char msg[300];
    if (!gw_registry_annotate(g, project, shown, subject, msg, sizeof msg))
        return false;
    json_object_set_new(shown, "conflict", json_string(msg));
    return !force && gw_registry_enforced(g, project);
}

/* ---- an import request ---- */

static const char *text_of(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* Within one request: one patient, one label; one label, one patient
 * (labels: key -> subject, patients: subject -> key). */
static bool request_conflict(json_t *labels, json_t *patients, const char *key, const char *subject, char *msg,
                             size_t len)
{
    const char *had = text_of(labels, key), *whose = text_of(patients, subject);
    if (had && strcmp(had, subject) != 0)
        return snprintf(msg, len, "one patient is named under two subjects in this request (%s and %s)", had, subject),
               true;
    if (whose && strcmp(whose, key) != 0)
        return snprintf(msg, len, "subject %s is given to two different patients in this request", subject), true;
    json_object_set_new(labels, key, json_string(subject));
    json_object_set_new(patients, subject, json_string(key));
    return false;
}

static void audit_forced(gw_req *r, const char *project, const json_t *study, const char *known)
{
    char target[140];
    snprintf(target, sizeof target, "%s/%s", project, text_of(study, "session"));
    gw_audit_ev e = gw_audit_of(r, "subject_label_forced", target);
    e.detail[0][0] = "subject", e.detail[0][1] = text_of(study, "subject");
    if (*known)
        e.detail[1][0] = "known_subject", e.detail[1][1] = known;
    gw_audit_event(r->g, &e);
    gw_log(r->g, "warn", "subject_label_forced", "project=%s session=%s subject=%s user=%s", project,
           text_of(study, "session"), text_of(study, "subject"), r->user.name);
}

bool gw_registry_check_request(gw_req *r, const char *project, const json_t *studies, bool force)
{
    if (!gw_registry_enforced(r->g, project))
        return true; /* 'propose': the answers name the known label, nothing is refused */
    json_t *labels = json_object(), *patients = json_object();
    size_t i;
    const json_t *v;
    bool ok = true;
    json_array_foreach(studies, i, v)
    {
        const char *subject = text_of(v, "subject");
        char key[65], known[65] = "", msg[300];
        key_of_row(r->g, project, v, key);
        if (!*key)
            continue; /* no original id given: the receiver checks its instances */
        bool conflict = gw_registry_conflict(r->g, project, key, subject, known, msg, sizeof msg) ||
                        request_conflict(labels, patients, key, subject, msg, sizeof msg);
        if (conflict && force) {
            audit_forced(r, project, v, known);
        } else if (conflict) {
            gw_reply(r, 409, json_pack("{s:s,s:s?,s:s?,s:s?,s:b}", "error", msg, "known_subject", *known ? known : NULL,
                                       "subject", subject, "session", text_of(v, "session"), "registry", 1));
            ok = false;
            break;
        }
    }
    json_decref(labels), json_decref(patients);
    return ok;
}

/* ---- date shifting per patient ---- */

bool gw_registry_shift_range(gw *g, const char *project, int64_t *min_days, int64_t *max_days)
{
    json_t *row = gw_row(g,
                         "SELECT date_shift_min AS lo, date_shift_max AS hi FROM projects WHERE id = ? "
                         "AND date_shift_min IS NOT NULL AND date_shift_max IS NOT NULL",
                         (store_val[]){STORE_S(project)}, 1, NULL);
    bool on = row != NULL;
    if (on)
        *min_days = json_integer_value(json_object_get(row, "lo")),
        *max_days = json_integer_value(json_object_get(row, "hi"));
    json_decref(row);
    return on;
}

/* The offset a new patient of key gets in [lo, hi]. */
static int64_t derived_shift(gw *g, const char *key, int64_t lo, int64_t hi)
{
    char in[80], tag[65];
    int n = snprintf(in, sizeof in, "date_shift\x1f%s", key);
    store_vault_tag(g->vault, in, (size_t)n, tag);
    char head[17]; /* 64 bits of the tag: the bias of the modulo is negligible */
    memcpy(head, tag, 16);
    head[16] = '\0';
    uint64_t x = strtoull(head, NULL, 16), span = (uint64_t)(hi - lo) + 1;
    return lo + (int64_t)(x % span);
}

/* ---- the receiver ---- */

/* The patient's registry row: its label into known[65] and its stored
 * offset (*has_shift false when none kept). */
static void stored_of(gw *g, const char *project, const char *key, char known[65], bool *has_shift, int64_t *shift)
{
    *known = '\0', *has_shift = false;
    json_t *row = gw_row(g, "SELECT subject, orig_enc FROM subject_registry WHERE project = ? AND patient_key = ?",
                         (store_val[]){STORE_S(project), STORE_S(key)}, 2, NULL);
    const char *subject = text_of(row, "subject"), *sealed = text_of(row, "orig_enc");
    char *plain = NULL;
    if (subject)
        snprintf(known, 65, "%s", subject);
    if (sealed && store_vault_unseal(g->vault, sealed, &plain, NULL, NULL) == DQR_OK) {
        json_t *o = json_loads(plain, 0, NULL);
        json_t *s = json_object_get(o, "date_shift");
        if ((*has_shift = json_is_integer(s)))
            *shift = json_integer_value(s);
        json_decref(o);
    }
    gw_wipe(plain);
    json_decref(row);
}

static bool session_forced(gw *g, int64_t id)
{
    int64_t forced = 0;
    store_int(g->db, "SELECT subject_forced FROM import_sessions WHERE id = ?", (store_val[]){STORE_I(id)}, 1, &forced,
              NULL);
    return forced != 0;
}

/* What the registry will keep of the patient: originals and offset, sealed. */
static char *seal_patient(gw *g, const char *issuer, const char *pid, bool has_shift, int64_t shift)
{
    json_t *o = json_pack("{s:s,s:s}", "PatientID", pid, "IssuerOfPatientID", issuer);
    if (o && has_shift)
        json_object_set_new(o, "date_shift", json_integer(shift));
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    char *sealed = text ? store_vault_seal(g->vault, text, strlen(text)) : NULL;
    json_decref(o);
    gw_wipe(text);
    return sealed;
}

/* The label check of the session's first instance (j->reg_refusal). */
static void check_label(gw *g, gw_job *j, const char *known)
{
    char msg[200];
    if (!gw_registry_enforced(g, j->project))
        return;
    bool conflict = *known ? strcmp(known, j->subject) != 0 : label_taken(g, j->project, j->subject, j->reg_key);
    if (!conflict)
        return;
    if (session_forced(g, j->id)) {
        gw_log(g, "warn", "subject_label_forced", "session=%lld project=%s subject=%s", (long long)j->id, j->project,
               j->subject);
        return;
    }
    char ignored[65];
    gw_registry_conflict(g, j->project, j->reg_key, j->subject, ignored, msg, sizeof msg);
    snprintf(j->reg_refusal, sizeof j->reg_refusal, "not archived: %.200s", msg);
}

void gw_registry_session_start(gw *g, gw_job *j, const dcm_dataset *ds)
{
    if (j->reg_checked)
        return;
    j->reg_checked = true;
    char pid[128] = "", issuer[128] = "", known[65];
    dcm_dataset_get_string(ds, DCM_TAG(0x0010, 0x0020), pid, sizeof pid);
    dcm_dataset_get_string(ds, DCM_TAG(0x0010, 0x0021), issuer, sizeof issuer);
    gw_registry_key(g, j->project, issuer, pid, j->reg_key);
    if (!*j->reg_key)
        return;
    bool has_shift = false;
    int64_t shift = 0, lo, hi;
    stored_of(g, j->project, j->reg_key, known, &has_shift, &shift);
    check_label(g, j, known);
    if (!has_shift && gw_registry_shift_range(g, j->project, &lo, &hi))
        has_shift = true, shift = derived_shift(g, j->reg_key, lo, hi);
    if (has_shift) {
        char text[24];
        snprintf(text, sizeof text, "%lld", (long long)shift);
        anon_session_set_var(j->deid.as, "subject_date_shift", text, NULL);
    }
    j->reg_sealed = seal_patient(g, issuer, pid, has_shift, shift);
    sodium_memzero(pid, sizeof pid), sodium_memzero(issuer, sizeof issuer);
}

void gw_registry_bind(gw *g, gw_job *j)
{
    pthread_mutex_lock(&j->lock);
    bool due = !j->reg_bound && *j->reg_key && j->reg_sealed && !*j->reg_refusal;
    j->reg_bound = true;
    pthread_mutex_unlock(&j->lock);
    if (!due)
        return;
    /* the first label stays; the sealed originals are refreshed (an offset
     * added when the project turned per-patient shifting on later) */
    dqr_error err = {0};
    if (store_exec(g->db,
                   "INSERT INTO subject_registry(project, patient_key, subject, orig_enc, created) VALUES (?, ?, ?, ?, ?) "
                   "ON CONFLICT(project, patient_key) DO UPDATE SET orig_enc = excluded.orig_enc",
                   (store_val[]){STORE_S(j->project), STORE_S(j->reg_key), STORE_S(j->subject), STORE_S(j->reg_sealed),
                                 STORE_I(time(NULL))},
                   5, NULL, NULL, NULL, &err) != DQR_OK)
        gw_log(g, "error", "registry_bind_failed", "session=%lld reason=%s", (long long)j->id, err.message);
}
