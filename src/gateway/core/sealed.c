/* sealed.c — sealing the original study of an import session (sealed.h).
 * One sealed JSON object {"study", "series", "overrides"} per session: the
 * three are read together whenever a transfer starts, so one unseal serves
 * them all. */
#include "dicom/fs.h"
#include "gateway/core/sealed.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void gw_study_key(gw *g, const char *study_uid, char key[65])
{
    store_vault_tag(g->vault, study_uid, strlen(study_uid), key);
}

char *gw_study_seal(gw *g, const char *study_uid, const json_t *series, const json_t *overrides)
{
    json_t *o = json_pack("{s:s,s:O?,s:O?}", "study", study_uid, "series", series, "overrides", overrides);
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    char *sealed = text ? store_vault_seal(g->vault, text, strlen(text)) : NULL;
    json_decref(o);
    gw_wipe(text);
    return sealed;
}

/* A member of o as a new reference, NULL for null or absent. */
static json_t *member(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return v && !json_is_null(v) ? json_incref(v) : NULL;
}

dqr_status gw_study_unseal(gw *g, const char *sealed, char study_uid[65], json_t **series, json_t **overrides,
                           dqr_error *err)
{
    char *text = NULL;
    dqr_status st = store_vault_unseal(g->vault, sealed, &text, NULL, err);
    if (st != DQR_OK)
        return st;
    json_t *o = json_loads(text, 0, NULL);
    gw_wipe(text);
    const char *uid = json_string_value(json_object_get(o, "study"));
    if (!uid || strlen(uid) > 64) {
        json_decref(o);
        return dqr_error_set(err, DQR_E_PARSE, "the sealed study of an import session is damaged");
    }
    snprintf(study_uid, 65, "%s", uid);
    if (series)
        *series = member(o, "series");
    if (overrides)
        *overrides = member(o, "overrides");
    json_decref(o);
    return DQR_OK;
}

/* Seal one row from before migration 6. */
static dqr_status seal_row(gw *g, json_t *row, dqr_error *err)
{
    const char *uid = json_string_value(json_object_get(row, "study_uid"));
    const char *series = json_string_value(json_object_get(row, "series"));
    const char *ov = json_string_value(json_object_get(row, "overrides"));
    json_t *s = series ? json_loads(series, 0, NULL) : NULL, *o = ov ? json_loads(ov, 0, NULL) : NULL;
    char key[65], *sealed = gw_study_seal(g, uid ? uid : "", s, o);
    json_decref(s), json_decref(o);
    if (!sealed)
        return dqr_error_set(err, DQR_E_NOMEM, "out of memory");
    gw_study_key(g, uid ? uid : "", key);
    dqr_status st = store_exec(g->db,
                               "UPDATE import_sessions SET study_enc = ?, study_key = ?, study_uid = '', series = NULL, "
                               "overrides = NULL WHERE id = ?",
                               (store_val[]){STORE_S(sealed), STORE_S(key),
                                             STORE_I(json_integer_value(json_object_get(row, "id")))},
                               3, NULL, NULL, NULL, err);
    free(sealed);
    return st;
}

dqr_status gw_study_seal_clear(gw *g, dqr_error *err)
{
    json_t *rows = gw_rows(g,
                           "SELECT id, study_uid, series, overrides FROM import_sessions "
                           "WHERE study_enc IS NULL OR study_uid <> '' OR series IS NOT NULL OR overrides IS NOT NULL",
                           NULL, 0, err);
    if (!rows)
        return err->code;
    size_t i;
    json_t *row;
    dqr_status st = DQR_OK;
    bool sqlite = json_array_size(rows) && strcmp(store_backend(g->db), "sqlite") == 0;
    if (sqlite) /* the clear values' bytes are zeroed, not left in free page space */
        store_exec(g->db, "PRAGMA secure_delete = ON", NULL, 0, NULL, NULL, NULL, NULL);
    json_array_foreach(rows, i, row)
    {
        if (st == DQR_OK)
            st = seal_row(g, row, err);
    }
    if (sqlite) { /* and the database file rewritten now, not at some later checkpoint */
        store_exec(g->db, "PRAGMA secure_delete = OFF", NULL, 0, NULL, NULL, NULL, NULL);
        store_exec(g->db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, 0, NULL, NULL, NULL, NULL);
    }
    if (st == DQR_OK && json_array_size(rows))
        gw_log(g, "info", "sealed_studies", "sessions=%zu (original study UIDs and overrides now sealed)",
               json_array_size(rows));
    json_decref(rows);
    return st;
}

bool gw_quarantine_seal(gw *g, const uint8_t *data, size_t len, char name[25])
{
    unsigned char rnd[12];
    char path[4096];
    randombytes_buf(rnd, sizeof rnd);
    sodium_bin2hex(name, 25, rnd, sizeof rnd);
    snprintf(path, sizeof path, "%s/quarantine/%s.sealed", g->cfg.data_dir, name);
    char *sealed = store_vault_seal(g->vault, data, len);
    int fd = sealed && dqr_make_parent_dirs(path, 0700) == 0 ? dqr_open_new(path, 0600) : -1;
    FILE *fp = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (fd >= 0 && !fp)
        close(fd);
    bool ok = fp && fputs(sealed, fp) >= 0;
    if (fp)
        ok = fclose(fp) == 0 && ok;
    free(sealed);
    return ok;
}

dqr_status gw_quarantine_seal_file(gw *g, const dcm_file *f, char name[25], dqr_error *err)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    dqr_status st = dcm_file_encode(f, NULL, &buf, &len, err);
    if (st)
        return st;
    bool sealed = gw_quarantine_seal(g, buf, len, name);
    free(buf);
    return sealed ? DQR_OK : dqr_error_set(err, DQR_E_IO, "the quarantine could not be written");
}
