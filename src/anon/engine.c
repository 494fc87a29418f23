/* engine.c — the ordered de-identification steps, the sessions that apply
 * them, and the record every de-identified instance gets (PS3.15 E.1.1:
 * PatientIdentityRemoved, DeidentificationMethod and its code sequence; a
 * script is recorded the way XNAT records it). */
#include "anon/interp.h"
#include "anon/profile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- lookup table: "keyType/key = value" lines, // comments ------------- */

static dqr_status load_lookup(anon_engine *e, const char *path, dqr_error *err)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return dqr_error_set(err, DQR_E_IO, "%s: %s", path, strerror(errno));
    char line[4096];
    int lineno = 0;
    size_t cap = 0;
    dqr_status st = DQR_OK;
    while (!st && fgets(line, sizeof line, f)) {
        lineno++;
        char *c = strstr(line, "//");
        if (c)
            *c = '\0';
        char *eq = strchr(line, '=');
        char *k = line;
        while (*k == ' ' || *k == '\t')
            k++;
        if (!*k || *k == '\n' || *k == '\r')
            continue;
        if (!eq) {
            st = dqr_error_set(err, DQR_E_PARSE, "%s:%d: expected 'keyType/key = value'", path, lineno);
            break;
        }
        char *ke = eq;
        while (ke > k && (ke[-1] == ' ' || ke[-1] == '\t'))
            ke--;
        char *v = eq + 1;
        while (*v == ' ' || *v == '\t')
            v++;
        size_t vl = strcspn(v, "\r\n");
        while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
            vl--;
        if (e->nlookup == cap) {
            cap = cap ? cap * 2 : 32;
            lookup_entry *ne = realloc(e->lookup, cap * sizeof *ne);
            if (!ne) {
                st = dqr_error_set(err, DQR_E_NOMEM, "out of memory");
                break;
            }
            e->lookup = ne;
        }
        e->lookup[e->nlookup].key = strndup(k, (size_t)(ke - k));
        e->lookup[e->nlookup].value = strndup(v, vl);
        e->nlookup++;
    }
    fclose(f);
    return st;
}

anon_engine *anon_engine_new(const anon_settings *settings, dqr_error *err)
{
    anon_engine *e = calloc(1, sizeof *e);
    if (!e) {
        dqr_error_set(err, DQR_E_NOMEM, "out of memory");
        return NULL;
    }
    if (settings)
        e->settings = *settings;
    e->settings.lookup_path = NULL;
    if (settings && settings->lookup_path && load_lookup(e, settings->lookup_path, err)) {
        anon_engine_free(e);
        return NULL;
    }
    return e;
}

void anon_engine_free(anon_engine *e)
{
    if (!e)
        return;
    for (size_t i = 0; i < e->nlookup; i++) {
        free(e->lookup[i].key);
        free(e->lookup[i].value);
    }
    free(e->lookup);
    free(e->steps);
    free(e);
}

static dqr_status add_step(anon_engine *e, anon_step step, dqr_error *err)
{
    if (e->n == e->cap) {
        size_t cap = e->cap ? e->cap * 2 : 4;
        anon_step *s = realloc(e->steps, cap * sizeof *s);
        if (!s)
            return dqr_error_set(err, DQR_E_NOMEM, "out of memory");
        e->steps = s;
        e->cap = cap;
    }
    e->steps[e->n++] = step;
    return DQR_OK;
}

dqr_status anon_engine_add_script(anon_engine *e, const anon_script *s, dqr_error *err)
{
    return add_step(e, (anon_step){s, NULL}, err);
}

dqr_status anon_engine_add_profile(anon_engine *e, const anon_profile *p, dqr_error *err)
{
    return add_step(e, (anon_step){NULL, p}, err);
}

/* ---- sessions ---------------------------------------------------------- */

anon_session *anon_session_new(const anon_engine *e, dqr_error *err)
{
    anon_session *s = calloc(1, sizeof *s);
    if (!s)
        dqr_error_set(err, DQR_E_NOMEM, "out of memory");
    else
        s->eng = e;
    return s;
}

void anon_session_free(anon_session *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->nvars; i++) {
        free(s->vars[i].name);
        anon_value_free(&s->vars[i].value);
        free(s->vars[i].description);
    }
    free(s->vars);
    for (size_t i = 0; i < s->nkept; i++)
        anon_script_free(s->kept[i]);
    free(s->kept);
    px_edit_free(s->pixels);
    arena_free(&s->scratch);
    free(s);
}

int anon_session_keep(anon_session *s, anon_script *holder)
{
    if (s->nkept == s->capkept) {
        size_t cap = s->capkept ? s->capkept * 2 : 8;
        anon_script **k = realloc(s->kept, cap * sizeof *k);
        if (!k)
            return -1;
        s->kept = k;
        s->capkept = cap;
    }
    s->kept[s->nkept++] = holder;
    return 0;
}

dqr_status anon_session_set_var(anon_session *s, const char *name, const char *value, dqr_error *err)
{
    aval v = {.kind = V_STR, .s = value};
    return anon_var_set(s, name, &v) ? dqr_error_set(err, DQR_E_NOMEM, "out of memory") : DQR_OK;
}

void anon_session_on_echo(anon_session *s, anon_echo_fn fn, void *ctx)
{
    s->echo = fn;
    s->echo_ctx = ctx;
}

/* ---- the record -------------------------------------------------------- */

/* What XNAT's Mizer adds for an applied script (AbstractMizer.addRecord in
 * NrgXnat/dicom-edit6 and the DE 4 mizer): one code item, CodeValue = the
 * script's id, CodingSchemeDesignator XNAT, version 1.0, meaning "XNAT
 * DicomEdit 6 Script" (or 4). XNAT writes nothing else: PatientIdentityRemoved
 * and DeidentificationMethod are the scripts' own. */
static dqr_status add_code(dcm_element *seq, const char *value, const char *scheme,
                           const char *version, const char *meaning, dqr_error *err)
{
    dcm_dataset *item = dcm_element_append_item(seq, err);
    /* An id longer than SH's 16 characters goes whole into Long Code Value
     * (PS3.3 8.8, UC) instead of being cut. */
    uint32_t value_tag = strlen(value) > 16 ? DCM_TAG(0x0008, 0x0119) : DCM_TAG(0x0008, 0x0100);
    dcm_vr value_vr = strlen(value) > 16 ? DCM_VR_UC : DCM_VR_SH;
    if (!item || !dcm_dataset_set_string(item, value_tag, value_vr, value, err) ||
        !dcm_dataset_set_string(item, DCM_TAG(0x0008, 0x0102), DCM_VR_SH, scheme, err) ||
        (version && !dcm_dataset_set_string(item, DCM_TAG(0x0008, 0x0103), DCM_VR_SH, version, err)) ||
        !dcm_dataset_set_string(item, DCM_TAG(0x0008, 0x0104), DCM_VR_LO, meaning, err))
        return err ? err->code : DQR_E_NOMEM;
    return DQR_OK;
}

/* The script's file name without folders: what dqr records as its id (XNAT
 * records its database id, which a file has not). */
static const char *script_id(const anon_script *s)
{
    const char *name = anon_script_name(s);
    const char *slash = strrchr(name, '/');
    return slash ? slash + 1 : name;
}

/* The two record attributes as the input had them, so that a value a step
 * wrote can be told from one dqr should write. */
typedef struct record_before {
    char *identity_removed; /* (0012,0062) text, NULL if absent */
    char *method;           /* (0012,0063) text, NULL if absent */
} record_before;

static char *text_at(const dcm_dataset *ds, uint32_t tag)
{
    const dcm_element *el = dcm_dataset_get(ds, tag);
    return el ? dcm_element_text(el, NULL) : NULL;
}

static void record_snapshot(const dcm_dataset *ds, record_before *b)
{
    b->identity_removed = text_at(ds, DCM_TAG(0x0012, 0x0062));
    b->method = text_at(ds, DCM_TAG(0x0012, 0x0063));
}

static void record_before_free(record_before *b)
{
    free(b->identity_removed);
    free(b->method);
}

/* Did the steps give tag a value of their own (set, and not the input's)? */
static bool set_by_steps(const dcm_dataset *ds, uint32_t tag, const char *before)
{
    char *now = text_at(ds, tag);
    bool set = now && now[0] && (!before || strcmp(before, now) != 0);
    free(now);
    return set;
}

/* One DeidentificationMethod value per step; LO allows 64 characters a value. */
static void method_part(const anon_step *step, char *out, size_t cap)
{
    if (step->script)
        snprintf(out, cap, "DicomEdit %s script %s", anon_script_version(step->script), script_id(step->script));
    else
        snprintf(out, cap, "PS3.15 Annex E %s", anon_profile_name(step->profile));
    if (strlen(out) > 64)
        out[64] = '\0';
}

static dqr_status record(const anon_engine *e, dcm_dataset *ds, const record_before *before, dqr_error *err)
{
    char method[1024] = "";
    dcm_element *seq = dcm_dataset_get(ds, DCM_TAG(0x0012, 0x0064));
    if (!seq || !dcm_element_is_sequence(seq))
        seq = dcm_dataset_set_sequence(ds, DCM_TAG(0x0012, 0x0064), err);
    if (!seq)
        return err ? err->code : DQR_E_NOMEM;
    for (size_t i = 0; i < e->n; i++) {
        const anon_step *step = &e->steps[i];
        dqr_status st;
        if (step->script) {
            bool de4 = anon_script_version(step->script)[0] == '4';
            st = add_code(seq, script_id(step->script), "XNAT", "1.0",
                          de4 ? "XNAT DicomEdit 4 Script" : "XNAT DicomEdit 6 Script", err);
        } else {
            st = anon_profile_record(step->profile, seq, err);
        }
        if (st)
            return st;
        char part[80];
        method_part(step, part, sizeof part);
        if (strlen(method) + strlen(part) + 2 < sizeof method) {
            if (method[0])
                strcat(method, "\\");
            strcat(method, part);
        }
    }
    /* A value a script wrote stays as the script wrote it, as in XNAT. */
    if (!set_by_steps(ds, DCM_TAG(0x0012, 0x0062), before->identity_removed) &&
        !dcm_dataset_set_string(ds, DCM_TAG(0x0012, 0x0062), DCM_VR_CS, "YES", err))
        return err ? err->code : DQR_E_NOMEM;
    if (!set_by_steps(ds, DCM_TAG(0x0012, 0x0063), before->method) &&
        !dcm_dataset_set_string(ds, DCM_TAG(0x0012, 0x0063), DCM_VR_LO, method[0] ? method : "dqr", err))
        return err ? err->code : DQR_E_NOMEM;
    return DQR_OK;
}

const px_edit *anon_session_pixel_edits(const anon_session *s) { return s->pixels; }

anon_result anon_session_apply(anon_session *s, dcm_dataset *ds, dqr_error *err)
{
    const anon_engine *e = s->eng;
    record_before before;
    px_edit_free(s->pixels); /* the regions are the current instance's */
    s->pixels = NULL;
    record_snapshot(ds, &before);
    anon_result r = ANON_OK;
    for (size_t i = 0; i < e->n && r == ANON_OK; i++) {
        if (e->steps[i].script)
            r = anon_script_run(s, e->steps[i].script, ds, err);
        else if (anon_profile_apply(e->steps[i].profile, e, ds, err))
            r = ANON_FAILED;
    }
    if (r == ANON_OK && record(e, ds, &before, err))
        r = ANON_FAILED;
    record_before_free(&before);
    return r;
}
